# IDEAL with bidirectional copy-paste (BCP, Bai et al. 2023)
# composed with IDEAL's two streams (configs/_base_/models/stage2_options.py:
# bcp_branches, with the confident, distribution-aligned, class-balanced
# pseudo-labels without which BCP collapsed on the hard phantom). Every
# unlabelled slice swaps a box of 2/3 the image side with a labelled slice,
# both ways; the mixed targets join the labelled slice's ground truth and the
# other stream's pseudo-label. The plain cross pseudo-label term stays on.
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
