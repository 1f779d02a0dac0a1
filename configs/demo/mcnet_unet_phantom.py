# CPU demo: MC-Net (configs/baselines/mcnet_unet_1xb24-30k_acdc-7pat.py) on
# phantom ACDC, the split, batches (4 + 4) and 600 iterations of the other
# demos; the consistency ramp ends at 300 and the lr stays constant, as
# MC-Net's.
_base_ = [
    '../_base_/models/mcnet_unet.py', '../_base_/datasets/acdc_phantom.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_600.py'
]
labelled_per_batch = 4
unlabelled_per_batch = 4
model = dict(semi_train_cfg=dict(rampup_iters=300))
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
train_pipeline = [
    *_base_.train_pipeline[:-1],
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
