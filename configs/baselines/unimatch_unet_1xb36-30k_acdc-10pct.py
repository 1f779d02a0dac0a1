# UniMatch as published (_base_/models/unimatch_unet.py) on ACDC, label
# budget 10 % of the 70 train patients (the
# IDEAL paper's table): label_budget=0.1. No pre-training.
# Batches of 12 labelled + 24 unlabelled slices: the first 12 unlabelled are
# UniMatch's u batch, the last 12 its CutMix partners (UniMatch: a second
# unlabelled loader of 12). Weak view = the geometric augmentation only
# (UniMatch has no intensity change on it); two strong views per slice
# (UniMatchStrongViews: brightness/contrast jitter p 0.8, blur p 0.5). SGD lr
# 0.01, poly 0.9 over 30k iterations (UniMatch: 300 epochs of its unlabelled
# loader, ~30k iterations).
_base_ = [
    '../_base_/models/unimatch_unet.py', '../_base_/datasets/acdc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_30k.py'
]
label_budget = 0.1
labelled_per_batch = 12
unlabelled_per_batch = 24  # 12 u + 12 partners

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
    sampler=dict(
        _delete_=True,
        type='SemiSupMultiSourceSampler',
        batch_size=labelled_per_batch + unlabelled_per_batch,
        source_ratio=[labelled_per_batch, unlabelled_per_batch],
        shuffle=True),
    dataset=dict(
        subset='all', label_budget=label_budget, pipeline=train_pipeline))
custom_hooks = [dict(type='SemiSupSamplerHook')]
