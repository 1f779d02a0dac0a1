# CPU demo: the supervised-only baseline on phantom ACDC data
# (tools/data/make_phantom_acdc.py), 2 labelled patients, 96x96 slices,
# a short schedule that runs in a few minutes on 2 CPU cores.
_base_ = [
    '../_base_/models/unet_fcn.py', '../_base_/datasets/acdc_phantom.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_30k.py'
]
max_iters = 600
val_interval = 100
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=val_interval, max_keep_ckpts=1))
