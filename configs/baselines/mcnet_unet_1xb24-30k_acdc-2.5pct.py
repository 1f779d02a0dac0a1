# MC-Net (Wu et al., MICCAI 2021) as code/train_mcnet_2d.py trains it on
# ACDC: 2.5 % of the 70 SSL4MIS training
# patients labelled (2 patients),
# batches of 12 labelled + 12 unlabelled 256x256 slices, SGD lr 0.01
# (momentum 0.9, weight decay 1e-4) at a constant learning rate, 30k
# iterations, no pre-training. Model: _base_/models/mcnet_unet.py.
_base_ = [
    '../_base_/models/mcnet_unet.py', '../_base_/datasets/acdc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_30k.py'
]
label_budget = 0.025
labelled_per_batch = 12
unlabelled_per_batch = 12
# constant lr (MC-Net's script never changes it); a scheduler entry so that
# studies can re-end it like the other configs' (param_scheduler.0.end)
param_scheduler = [
    dict(
        type='ConstantLR',
        factor=1.0,
        begin=0,
        end={{_base_.max_iters}},
        by_epoch=False)
]
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
