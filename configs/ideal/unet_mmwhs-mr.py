# IDEAL stage 2 on MM-WHS MRI (configs/_base_/datasets/mmwhs_mr.py has the data:
# nnU-Net layout from tools/data/convert_mmwhs.py, 8 classes, seeded patient
# split 12 train / 2 val / 6 test). The model and schedule of
# configs/ideal/unet_acdc.py (shared UNet encoder, bilinear vs deconv UNet
# decoders, cross pseudo supervision) with 8 output classes. Unlabelled
# slices: the train patients outside the budget plus the challenge's
# unlabelled test volumes (imagesTs). Label budgets in the paper's table:
# ideal_unet_1xb24-30k_mmwhs-mr-{10,20,40,100}pct.py.
# Stage 1: configs/ideal/unet_mmwhs-mr_pretrain.py -> encoder.pth.
# The dataset dicts are replaced whole (_delete_): ACDCDataset's `source`
# does not apply to NnUNetDataset; keep them in step with mmwhs_mr.py.
_base_ = ['./unet_acdc.py']

pretrain_config = 'configs/ideal/unet_mmwhs-mr_pretrain.py'
pretrained_encoder = 'work_dirs/unet_mmwhs-mr_pretrain/encoder.pth'
data_root = 'data/MMWHS_MR'
split_cfg = dict(type='seeded', seed=0, num_val=2, num_test=6)
label_budget = 0.1
num_classes = 8
mmwhs_dataset = dict(
    type='NnUNetDataset',
    data_root=data_root,
    split_cfg=split_cfg,
    normalize='zscore')
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained_encoder,
            prefix='backbone.')),
    decode_head_1=dict(num_classes=num_classes),
    decode_head_2=dict(num_classes=num_classes))
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        split='train',
        subset='all',
        label_budget=label_budget,
        pipeline={{_base_.train_pipeline}},
        **mmwhs_dataset))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        split='val',
        test_mode=True,
        pipeline={{_base_.test_pipeline}},
        **mmwhs_dataset))
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        split='test',
        test_mode=True,
        pipeline={{_base_.test_pipeline}},
        **mmwhs_dataset))
