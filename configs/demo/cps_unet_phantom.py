# CPU demo: the cross pseudo supervision baseline (the IDEAL model without
# pre-training) on phantom ACDC, same split, batches and schedule as
# ideal_unet_phantom_finetune.py and supervised_unet_phantom.py.
_base_ = ['./ideal_unet_phantom_finetune.py']
pretrained_encoder = None
model = dict(backbone=dict(init_cfg=None))
