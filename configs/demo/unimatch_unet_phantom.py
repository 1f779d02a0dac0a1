# CPU demo: UniMatch as published (_base_/models/unimatch_unet.py,
# UniMatchSemiSupModel) on phantom ACDC, 2 labelled patients, 96x96 slices,
# 600 iterations (_base_/schedules/schedule_600.py), no pre-training. Batches
# of 4 labelled + 8 unlabelled slices (4 u + their 4 CutMix partners), the
# published recipe otherwise unchanged: no ramp, threshold 0.95, Dice-only
# unlabelled losses, (Lx + 0.25 s1 + 0.25 s2 + 0.5 fp) / 2. This project's
# UniMatch-style variant is unimatch-style_unet_phantom.py.
_base_ = [
    '../_base_/models/unimatch_unet.py', '../_base_/datasets/acdc_phantom.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_600.py'
]
labelled_per_batch = 4
unlabelled_per_batch = 8  # 4 u + 4 partners

# weak view = the geometric augmentation only; UniMatch's strong views;
# packed with the hidden label of unlabelled slices when the dataset has
# oracle_labels=True (never trained on)
train_pipeline = [
    dict(
        type='LoadACDCSlice',
        with_label=True,
        max_open=_base_.max_open_volumes),
    dict(
        type='RandomAffineResize',
        out_size=_base_.crop_size,
        rotate_prob=0.5,
        rotate_range=20,
        flip_prob=0.5,
        flip_direction=['horizontal', 'vertical']),
    dict(type='UniMatchStrongViews', num_strong=2),
    dict(type='PackSemiSegInputs', meta_keys=_base_.meta_keys),
]
train_dataloader = dict(
    batch_size=labelled_per_batch + unlabelled_per_batch,
    pin_memory=False,
    sampler=dict(
        _delete_=True,
        type='SemiSupMultiSourceSampler',
        batch_size=labelled_per_batch + unlabelled_per_batch,
        source_ratio=[labelled_per_batch, unlabelled_per_batch],
        shuffle=True),
    dataset=dict(subset='all', pipeline=train_pipeline))
val_dataloader = dict(pin_memory=False)
test_dataloader = val_dataloader
custom_hooks = [dict(type='SemiSupSamplerHook')]

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval={{_base_.val_interval}}, max_keep_ckpts=1))
