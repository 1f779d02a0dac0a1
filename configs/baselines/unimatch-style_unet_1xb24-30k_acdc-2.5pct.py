# This project's single-stream UniMatch-style baseline on ACDC,
# 2.5 % of the 70 train patients labelled
# (label_budget=0.025), no pre-training: _base_/models/unimatch-style_unet.py
# (UniMatchStyleSemiSupModel; UniMatch as published is
# unimatch_unet_1xb36-30k_acdc-*.py). Same data, batches (12 labelled + 12
# unlabelled) and schedule as configs/ideal/unet_acdc.py, so
# "IDEAL-UniMatch - UniMatch-style" measures pre-training plus the second
# stream.
_base_ = [
    '../_base_/models/unimatch-style_unet.py', '../_base_/datasets/acdc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_30k.py'
]
label_budget = 0.025
labelled_per_batch = 12
unlabelled_per_batch = 12

# acdc.py's training pipeline plus the two strong views
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
    dict(type='RandomIntensity'),
    dict(type='WeakStrongViews', num_strong=2),
    dict(type='PackSemiSegInputs', meta_keys=_base_.meta_keys),
]
# One ACDCDataset over every train patient, grouped into labelled and
# unlabelled slices by the sampler (as configs/ideal/unet_acdc.py).
train_dataloader = dict(
    batch_size=labelled_per_batch + unlabelled_per_batch,
    sampler=dict(
        _delete_=True,
        type='SemiSupMultiSourceSampler',
        batch_size=labelled_per_batch + unlabelled_per_batch,
        source_ratio=[labelled_per_batch, unlabelled_per_batch],
        shuffle=True),
    dataset=dict(
        subset='all', label_budget=label_budget, pipeline=train_pipeline))
custom_hooks = [dict(type='SemiSupSamplerHook')]
