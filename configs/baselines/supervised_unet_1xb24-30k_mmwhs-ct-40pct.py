# Supervised-only baseline on MM-WHS CT: mmseg UNet + FCN head (8 classes),
# CE + class Dice, on the 40% labelled train patients only.
_base_ = [
    '../_base_/models/unet_fcn.py', '../_base_/datasets/mmwhs_ct.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_30k.py'
]
label_budget = 0.4
model = dict(decode_head=dict(num_classes=8))
train_dataloader = dict(dataset=dict(label_budget=label_budget))
