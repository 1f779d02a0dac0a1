# CPU demo: this project's single-stream UniMatch-style baseline
# (UniMatchStyleSemiSupModel, _base_/models/unimatch-style_unet.py; UniMatch
# as published is unimatch_unet_phantom.py) on phantom ACDC: same data,
# batches (4 + 4) and 600-iteration schedule as ideal_unet_phantom_finetune.py,
# no pre-training; consistency ramp-up over 150 iterations as the other
# phantom semi-supervised configs, and class-balanced thresholds.
_base_ = [
    '../_base_/models/unimatch-style_unet.py',
    '../_base_/datasets/acdc_phantom.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_600.py'
]
labelled_per_batch = 4
unlabelled_per_batch = 4

model = dict(
    pseudo_label_filters=[
        dict(type='DistributionAlignment', momentum=0.99),
        # CBST: per class, at least the most confident half of the pixels
        # predicted as that class is kept (threshold min(0.95, median))
        dict(type='ClassBalancedThreshold', portion=0.5),
    ],
    semi_train_cfg=dict(rampup_iters=150))

# acdc_phantom.py's training pipeline plus the strong views, packed with the
# hidden label of unlabelled slices when the dataset has oracle_labels=True
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
