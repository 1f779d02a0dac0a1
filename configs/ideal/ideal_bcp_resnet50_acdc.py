# ideal_bcp_unet_1xb24-30k_acdc-10pct.py (IDEAL with bcp options, 10 % labels)
# on the encoder swap of resnet50_acdc.py (the resnet50_swap block of
# configs/_base_/models/encoder_swaps.py). Stage 1:
#   python tools/train.py configs/ideal/resnet50_acdc_pretrain.py
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py',
    '../_base_/models/stage2_options.py', '../_base_/models/encoder_swaps.py'
]

pretrain_config = 'configs/ideal/resnet50_acdc_pretrain.py'
pretrained_encoder = _base_.resnet50_encoder_file
label_budget = 0.1
model = dict(
    **_base_.resnet50_swap,
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
