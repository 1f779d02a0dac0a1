# IDEAL + bcp options (see ideal_bcp_unet_1xb24-30k_acdc-10pct.py), labels:
# 2.5% of the 70 training patients (round(1.75) -> 2 patients).
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py', '../_base_/models/stage2_options.py'
]

pretrain_config = 'configs/ideal/unet_acdc_pretrain.py'
pretrained_encoder = 'work_dirs/unet_acdc_pretrain/encoder.pth'
label_budget = 0.025
model = dict(
    segmentor=dict(
        backbone=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint=pretrained_encoder,
                prefix='backbone.'))),
    unsup_branches=_base_.bcp_branches,
    pseudo_label_filters=_base_.guarded_filters,
    semi_train_cfg=dict(
        **_base_.guarded_pseudo_labels,
        max_consistency_weight=0.5,
        rampup_iters=3000))
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
    dataset=dict(subset='all', label_budget=label_budget))
custom_hooks = [dict(type='SemiSupSamplerHook')]
