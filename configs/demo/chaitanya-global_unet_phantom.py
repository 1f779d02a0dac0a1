# CPU demo of Chaitanya et al.'s stage 1 on phantom ACDC
# (configs/pretrain/chaitanya-global_unet_1xb12-10k_acdc.py at demo size:
# 96x96 views, 8 slices x 2 views, 600 iterations). Writes
# work_dirs/chaitanya-global_unet_phantom/encoder.pth.
_base_ = [
    '../_base_/models/ideal_unet_pretrainer.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adam_10k.py'
]
data_root = 'data/phantom_acdc'
split_cfg = dict(type='seeded', seed=0, num_val=4, num_test=8)
crop_size = (96, 96)
max_iters = 600
model = dict(
    key_branch='shared',
    loss=dict(loss_weight=0.0, num_samples=1),  # dense term off
    global_head=dict(
        type='GlobalProjHead',
        in_channels=256,
        in_index=-1,
        hidden_channels=1024,
        channels=128),
    global_loss=dict(type='GlobalContrastiveLoss', tau=0.1))
train_pipeline = [
    dict(type='LoadACDCSlice', with_label=False),
    dict(
        type='DenseContrastiveTwoView',
        out_size=crop_size,
        keep_ratio=False,
        flip_prob=0.5,
        rotate_prob=0.5,
        rotate_range=30,
        scale_range=(0.8, 1.25),
        translate=0.1,
        view_pipeline=[dict(type='RandomIntensity')]),
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
custom_hooks = [dict(type='ExportEncoderHook', filename='encoder.pth')]
