# The CPU demos' schedule (configs/demo/): schedule_30k.py's SGD and poly
# decay over 600 iterations, validation every 100.
_base_ = ['./schedule_30k.py']
max_iters = 600
val_interval = 100
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
