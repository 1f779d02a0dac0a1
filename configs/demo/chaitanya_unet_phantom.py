# CPU demo of Chaitanya et al.'s stage 3 on phantom ACDC: supervised
# fine-tuning (the demo's 600-iteration schedule, 8 labelled slices a batch)
# from the encoder + decoder blocks of
# chaitanya-local_unet_phantom.py (pretrained.pth).
_base_ = [
    '../_base_/models/chaitanya_unet.py', '../_base_/datasets/acdc_phantom.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_600.py'
]
pretrain_config = 'configs/demo/chaitanya-local_unet_phantom.py'
pretrained = 'work_dirs/chaitanya-local_unet_phantom/pretrained.pth'
model = dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained))
train_dataloader = dict(pin_memory=False)
val_dataloader = dict(pin_memory=False)
test_dataloader = val_dataloader
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval={{_base_.val_interval}}, max_keep_ckpts=1))
