# Chaitanya et al. 2020, stage 1 (global contrastive pre-training of the
# encoder) on ACDC, with the project's DenseContrastivePretrainer: an image-
# level head (global average pool -> 1024 -> 128) on the deepest encoder
# level and GlobalContrastiveLoss (tau 0.1) between the two views of each
# slice against the other slices of the batch: the paper's G^R form. The
# published run uses G^D- (positives from the same partition of other
# volumes), which is not built here (docs/comparators.md). The dense term
# of the pre-trainer is switched off (weight 0). Both views go through one
# network (key_branch='shared', as SimCLR); Adam 1e-3, 12 slices x 2 views,
# 10k iterations. Writes <work_dir>/encoder.pth (the whole encoder), which
# configs/pretrain/chaitanya-local_unet_1xb12-10k_acdc.py loads.
_base_ = [
    '../_base_/models/ideal_unet_pretrainer.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adam_10k.py'
]
data_root = 'data/ACDC'
split_cfg = dict(type='ssl4mis')
crop_size = (256, 256)
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
custom_hooks = [dict(type='ExportEncoderHook', filename='encoder.pth')]
