# IDEAL stage 1 on ACDC with mmseg's MixVisionTransformer MiT-B0
# (single-channel patch embedding). Its deepest level is 1/32 (8x8 at 256), so
# the dense head fuses the two deepest levels at 1/16 (16x16, 160 + 256
# channels), the same grid as the UNet config. AdamW as usual for MiT.
_base_ = [
    '../_base_/models/ideal_unet_pretrainer.py',
    '../_base_/datasets/acdc_pretrain.py', '../_base_/default_runtime.py',
    '../_base_/schedules/pretrain_20k.py', '../_base_/models/encoder_swaps.py'
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(
        _delete_=True,
        type='CheckpointHook',
        by_epoch=False,
        interval=2000,
        max_keep_ckpts=2))

model = dict(
    backbone=_base_.mitb0_encoder,
    proj_head=dict(in_channels=416, in_index=[2, 3], hidden_channels=256))
optim_wrapper = _base_.mitb0_optim_wrapper
# The whole encoder goes into encoder.pth: its first stage already works at
# 1/4 (MiT) or 1/2 (ResNet) resolution; leaving out the UNet's full-resolution
# stage (unet_acdc_pretrain.py) was measured for the UNet only.
custom_hooks = [
    dict(type='MeanTeacherHook'),  # steps the EMA key branch
    dict(type='ExportEncoderHook', filename='encoder.pth')
]
