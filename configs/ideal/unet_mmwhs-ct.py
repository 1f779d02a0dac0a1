# IDEAL stage 2 on MM-WHS CT (configs/_base_/datasets/mmwhs_ct.py has the data:
# nnU-Net layout from tools/data/convert_mmwhs.py, 8 classes, seeded patient
# split 12 train / 2 val / 6 test). The model, options and schedule of
# configs/ideal/unet_acdc.py (shared UNet encoder, bilinear vs deconv UNet
# decoders, cross pseudo supervision) with 8 output classes. Unlabelled
# slices: the train patients outside the budget plus the challenge's
# unlabelled test volumes (imagesTs). Label budgets in the paper's table:
# this file (10 %) and ideal_unet_1xb24-30k_mmwhs-ct-{20,40,100}pct.py.
# Stage 1: configs/ideal/unet_mmwhs-ct_pretrain.py -> encoder.pth.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/mmwhs_ct.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py'
]

pretrain_config = 'configs/ideal/unet_mmwhs-ct_pretrain.py'
pretrained_encoder = 'work_dirs/unet_mmwhs-ct_pretrain/encoder.pth'
label_budget = 0.1
labelled_per_batch = 12
unlabelled_per_batch = 12
num_classes = 8
model = dict(
    segmentor=dict(
        backbone=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint=pretrained_encoder,
                prefix='backbone.')),
        decode_head=dict(num_classes=num_classes)),
    decode_head_2=dict(num_classes=num_classes))
# One dataset over every train volume, grouped into labelled and unlabelled
# slices by the sampler (as configs/ideal/unet_acdc.py).
train_dataloader = dict(
    batch_size=labelled_per_batch + unlabelled_per_batch,
    sampler=dict(
        _delete_=True,
        type='SemiSupMultiSourceSampler',
        batch_size=labelled_per_batch + unlabelled_per_batch,
        source_ratio=[labelled_per_batch, unlabelled_per_batch],
        shuffle=True),
    dataset=dict(subset='all', label_budget=label_budget))
custom_hooks = [dict(type='SemiSupSamplerHook')]
