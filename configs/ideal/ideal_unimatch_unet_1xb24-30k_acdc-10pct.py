# IDEAL with the UniMatch-style options of BiConsistencySemiSupModel
# (configs/_base_/models/stage2_options.py: weak-view pseudo-labels of each
# stream supervise the other stream on a strong view with CutMix and on a
# feature-dropout branch; confident, distribution-aligned, class-balanced
# pseudo-labels; CE + present-class Dice), weight ramped to 0.5 over 3k
# iterations. The paper's plain form is unet_acdc.py.
# Labels: 10% of the 70 training patients (7). Everything else as unet_acdc.py.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py', '../_base_/models/stage2_options.py'
]

pretrain_config = 'configs/ideal/unet_acdc_pretrain.py'
pretrained_encoder = 'work_dirs/unet_acdc_pretrain/encoder.pth'
label_budget = 0.1
model = dict(
    segmentor=dict(
        backbone=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint=pretrained_encoder,
                prefix='backbone.'))),
    unsup_branches=_base_.unimatch_branches,
    pseudo_label_filters=_base_.guarded_filters,
    semi_train_cfg=dict(
        **_base_.guarded_pseudo_labels,
        max_consistency_weight=0.5,
        rampup_iters=3000))
# the training pipeline of _base_/datasets/volume_slices.py with the strong
# view before packing
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
labelled_per_batch = 12
unlabelled_per_batch = 12
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
