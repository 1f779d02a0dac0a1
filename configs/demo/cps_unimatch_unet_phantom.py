# CPU demo: IDEAL's two streams with the UniMatch-style options
# (ideal_unimatch_unet_phantom.py) from random weights, no stage 1: with
# unimatch-style_unet_phantom.py (one stream) and
# ideal_unimatch_unet_phantom.py
# (stage-1 encoder) it separates what the second stream and the pre-training
# each add.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc_phantom.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_600.py', '../_base_/models/stage2_options.py'
]

model = dict(
    segmentor=dict(backbone=dict(init_cfg=None)),
    unsup_branches=_base_.unimatch_branches,
    pseudo_label_filters=_base_.guarded_filters,
    semi_train_cfg=dict(
        **_base_.guarded_pseudo_labels,
        max_consistency_weight=0.5,
        rampup_iters=150))

# acdc_phantom.py's training pipeline plus 1 strong view,
# packed with the hidden label of unlabelled slices when the dataset has
# oracle_labels=True (logged as oracle.*, never trained on)
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
    dict(type='WeakStrongViews', num_strong=1),
    dict(type='PackSemiSegInputs', meta_keys=_base_.meta_keys),
]
labelled_per_batch = 4
unlabelled_per_batch = 4
# One ACDCDataset over every train patient, grouped into labelled and
# unlabelled slices by the sampler (as configs/ideal/unet_acdc.py).
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
