# The CPU demos' schedule (configs/demo/): schedule_30k.py's SGD and poly
# decay over 600 iterations, validation every 100.
_base_ = ['./schedule_30k.py']
max_iters = 600
val_interval = 100
# the base's poly decay, re-ended (its `end` was fixed at 30k when it was read)
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
