# Cross pseudo supervision baseline on MM-WHS CT, 10% labelled: the IDEAL
# model of configs/ideal/unet_mmwhs-ct.py trained from scratch (no stage 1),
# so "IDEAL - CPS" measures the pre-training alone.
_base_ = ['../ideal/unet_mmwhs-ct.py']
pretrained_encoder = None
label_budget = 0.1
model = dict(backbone=dict(init_cfg=None))
train_dataloader = dict(dataset=dict(label_budget=label_budget))
