# The demo pre-training as it was before the stage-1 fix, kept to reproduce
# the comparison in docs/paper_to_code.md: SGD lr 0.01 from the first
# iteration (no warm-up, the same lr for every stage), 300 iterations, and
# encoder.pth without the full-resolution stage (exclude=['encoder.0.']),
# and the correspondence of that time (cells centre-aligned, key points valid
# up to the view border).
# Data, model and hooks otherwise as ideal_unet_phantom_pretrain.py.
_base_ = [
    '../_base_/models/ideal_unet_pretrainer.py',
    '../_base_/datasets/acdc_pretrain.py', '../_base_/default_runtime.py',
    '../_base_/schedules/pretrain_20k.py'
]

data_root = 'data/phantom_acdc'
split_cfg = dict(type='seeded', seed=0, num_val=4, num_test=8)
crop_size = (96, 96)
model = dict(
    proj_head=dict(in_channels=384, in_index=[3, 4], hidden_channels=256),
    loss=dict(num_samples=128),
    cell_geometry='centre-aligned')
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
    dataset=dict(
        data_root=data_root, split_cfg=split_cfg, pipeline=train_pipeline))

max_iters = 300
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25, log_metric_by_epoch=False),
    checkpoint=dict(
        _delete_=True,
        type='CheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=1))
custom_hooks = [
    dict(type='MeanTeacherHook'),  # steps the EMA key branch
    dict(
        type='ExportEncoderHook',
        filename='encoder.pth',
        exclude=['encoder.0.'])
]
