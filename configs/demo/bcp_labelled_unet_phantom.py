# CPU demo of BCP phase 1, the labelled copy-paste phase
# (configs/baselines/bcp_unet_1xb12-10k_acdc-7pat-labelled.py) on phantom
# ACDC: the 2 labelled patients, 4 slices per step (halves of 2), 200
# iterations (BCP's 10k : 30k phase ratio against bcp_unet_phantom.py's 600),
# constant lr, validation every 100 keeping the best mDice checkpoint, which
# starts configs/demo/bcp_unet_phantom.py.
_base_ = [
    '../_base_/models/bcp_unet.py', '../_base_/datasets/acdc_phantom.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_bcp.py'
]
max_iters = 200
val_interval = 100
model = dict(semi_train_cfg=dict(phase='labelled', ema_momentum=None))
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
train_dataloader = dict(batch_size=4, pin_memory=False)
val_dataloader = dict(pin_memory=False)
test_dataloader = val_dataloader
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=val_interval))
