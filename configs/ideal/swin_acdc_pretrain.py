# IDEAL stage 1 on ACDC with mmseg's SwinTransformer Swin-T (single-channel
# patch embedding; the swin_encoder block of
# configs/_base_/models/encoder_swaps.py). Its deepest level is 1/32, so the
# dense head fuses the two deepest levels at 1/16 (16x16 at 256, 384 + 768
# channels), the grid of the UNet config; cell geometry from the table.
# Data, views, loss and schedule as unet_acdc_pretrain.py; AdamW as mmseg's
# Swin configs. Loaded in stage 2 by swin_acdc.py.
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
    backbone=_base_.swin_encoder,
    proj_head=dict(in_channels=1152, in_index=[2, 3], hidden_channels=256))
optim_wrapper = _base_.swin_optim_wrapper
# The whole encoder goes into encoder.pth.
custom_hooks = [
    dict(type='MeanTeacherHook'),  # steps the EMA key branch
    dict(type='ExportEncoderHook', filename='encoder.pth'),
]
