# Supervised-only baseline: mmseg UNet (base 16) + FCN head, CE + class Dice,
# trained on the 7 labelled patients of the SSL4MIS split (10% of the 70
# training patients); batch 24 of 256x256 slices, SGD lr 0.01, poly, 30k iters.
_base_ = [
    '../_base_/models/unet_fcn.py', '../_base_/datasets/acdc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_30k.py'
]
label_budget = 7
train_dataloader = dict(dataset=dict(label_budget=label_budget))
