# Supervised-only baseline on 2.5% of the 70 training patients (2 patients):
# mmseg UNet (base 16) + FCN head, CE + class Dice; batch 24 of 256x256 slices,
# SGD lr 0.01, poly, 30k iterations (as
# supervised_unet_1xb24-30k_acdc-7pat.py).
_base_ = [
    '../_base_/models/unet_fcn.py', '../_base_/datasets/acdc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_30k.py'
]
label_budget = 0.025
train_dataloader = dict(dataset=dict(label_budget=label_budget))
