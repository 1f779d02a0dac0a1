# IDEAL, UNet, MM-WHS CT, 100% of the 12 train patients labelled (the
# paper's budgets 10/20/40/100 %; 10 % is unet_mmwhs-ct.py); the rest of
# the train split and the unlabelled challenge test volumes are the
# unlabelled pool. Model and schedule as unet_mmwhs-ct.py.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/mmwhs_ct.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py'
]

pretrain_config = 'configs/ideal/unet_mmwhs-ct_pretrain.py'
pretrained_encoder = 'work_dirs/unet_mmwhs-ct_pretrain/encoder.pth'
label_budget = 1.0
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
labelled_per_batch = 12
unlabelled_per_batch = 12
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
