# CPU demo: the supervised-only baseline on phantom ACDC data
# (tools/data/make_phantom_acdc.py), 2 labelled patients, 96x96 slices,
# a short schedule that runs in a few minutes on 2 CPU cores.
_base_ = [
    '../_base_/models/unet_fcn.py', '../_base_/datasets/acdc_phantom.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_600.py'
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval={{_base_.val_interval}}, max_keep_ckpts=1))
