# BCP phase 1, the labelled copy-paste phase (code/ACDC_BCP_train.py
# pre_train), 1.25% of the 70 training patients (1 patient):
# 12 labelled slices per step, halves pasted into each other with one
# 2/3-side box, BCP's mixed loss with u_weight 1; SGD 0.01 at a constant lr,
# 10k iterations, validation every 200 keeping the best mDice checkpoint,
# which starts bcp_unet_1xb24-30k_acdc-1.25pct.py (docs/comparators.md).
_base_ = [
    '../_base_/models/bcp_unet.py', '../_base_/datasets/acdc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_bcp.py'
]
label_budget = 0.0125
max_iters = 10000
model = dict(semi_train_cfg=dict(phase='labelled', ema_momentum=None))
train_cfg = dict(max_iters=max_iters)
train_dataloader = dict(batch_size=12, dataset=dict(label_budget=label_budget))
default_hooks = dict(checkpoint=dict(interval={{_base_.val_interval}}))
