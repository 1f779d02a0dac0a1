# Chaitanya et al. 2020, stage 2 (local contrastive pre-training of the
# decoder) on ACDC: the encoder of stage 1
# (chaitanya-global_unet_1xb12-10k_acdc.py -> encoder.pth), frozen, and the
# first 3 blocks of the fine-tuning decoder (_base_/models/chaitanya_unet.py)
# + g_2 (1x1 conv-BN-ReLU, 1x1 conv) trained with LocalContrastiveLoss
# (13 3x3 regions, 5 negatives each, 128-d region layer, tau 0.1) between
# two intensity-only views of each slice (brightness +-0.3, contrast
# 0.7-1.3, no geometry: positions correspond). Adam 1e-3, 12 slices x 2
# views, 10k iterations. Writes <work_dir>/pretrained.pth (backbone.* and
# decode_head.up_blocks.{1,2,3}.*), loaded by
# configs/baselines/chaitanya_unet_1xb24-30k_acdc-*.py.
_base_ = [
    '../_base_/models/chaitanya_unet.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adam_10k.py'
]
pretrain_config = 'configs/pretrain/chaitanya-global_unet_1xb12-10k_acdc.py'
pretrained_encoder = \
    'work_dirs/chaitanya-global_unet_1xb12-10k_acdc/encoder.pth'
data_root = 'data/ACDC'
split_cfg = dict(type='ssl4mis')
crop_size = (256, 256)
model = dict(
    _delete_=True,
    type='LocalContrastivePretrainer',
    data_preprocessor=dict(type='TwoViewDataPreprocessor'),
    backbone=dict(
        _base_.model.backbone,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained_encoder,
            prefix='backbone.')),
    decode_head=_base_.decode_head,
    num_blocks=3,
    loss=dict(
        type='LocalContrastiveLoss',
        temperature=0.1,
        region_size=3,
        embed_dim=128),
    freeze_backbone=True)
# intensity-only views (the official brightness / contrast transforms)
view_intensity = dict(
    type='RandomIntensity',
    gamma_prob=0.0,
    contrast_prob=1.0,
    contrast_range=(0.7, 1.3),
    brightness_prob=1.0,
    brightness_range=(-0.3, 0.3),
    noise_prob=0.0,
    blur_prob=0.0)
train_pipeline = [
    dict(type='LoadACDCSlice', with_label=False),
    dict(
        type='DenseContrastiveTwoView',
        out_size=crop_size,
        keep_ratio=False,
        flip_prob=0.0,
        rotate_prob=0.0,
        scale_range=None,
        translate=0.0,
        view_pipeline=[view_intensity]),
    dict(type='PackTwoViewInputs'),
]
train_dataloader = dict(
    batch_size=12,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ACDCDataset',
        data_root=data_root,
        source='raw',
        split='train',
        subset='all',
        split_cfg=split_cfg,
        pipeline=train_pipeline))
val_dataloader = None
val_evaluator = None
test_dataloader = None
test_evaluator = None
default_hooks = dict(
    checkpoint=dict(
        _delete_=True,
        type='CheckpointHook',
        by_epoch=False,
        interval=2000,
        max_keep_ckpts=2))
custom_hooks = [dict(type='ExportPretrainedHook', filename='pretrained.pth')]
