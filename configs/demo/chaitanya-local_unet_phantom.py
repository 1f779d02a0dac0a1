# CPU demo of Chaitanya et al.'s stage 2 on phantom ACDC
# (configs/pretrain/chaitanya-local_unet_1xb12-10k_acdc.py at demo size:
# 96x96 views, 8 slices x 2 views, 600 iterations) on the frozen encoder of
# chaitanya-global_unet_phantom.py. Writes
# work_dirs/chaitanya-local_unet_phantom/pretrained.pth.
_base_ = [
    '../_base_/models/chaitanya_unet.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adam_10k.py'
]
pretrain_config = 'configs/demo/chaitanya-global_unet_phantom.py'
pretrained_encoder = \
    'work_dirs/chaitanya-global_unet_phantom/encoder.pth'
data_root = 'data/phantom_acdc'
split_cfg = dict(type='seeded', seed=0, num_val=4, num_test=8)
crop_size = (96, 96)
max_iters = 600
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
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
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
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(
        _delete_=True,
        type='CheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=1))
custom_hooks = [dict(type='ExportPretrainedHook', filename='pretrained.pth')]
