# IDEAL + unimatch options (see ideal_unimatch_unet_1xb24-30k_acdc-10pct.py),
# labels: 1.25% of the 70 training patients (round(0.875) -> 1 patient), the
# paper's smallest budget.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py', '../_base_/models/stage2_options.py'
]

pretrain_config = 'configs/ideal/unet_acdc_pretrain.py'
pretrained_encoder = 'work_dirs/unet_acdc_pretrain/encoder.pth'
label_budget = 0.0125
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
