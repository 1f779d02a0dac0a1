# IDEAL stage 1 on ACDC with mmseg's VisionTransformer ViT-S/16 at 256x256
# (single-channel patch embedding; the vit_encoder block of
# configs/_base_/models/encoder_swaps.py). The dense head reads the last
# output layer (a 16x16 grid, the grid of the UNet config); cell geometry
# from the table (16 j + 7.5). ViT is built for 256x256 inputs (its position
# embedding), so keep crop_size. Data, views, loss and schedule as
# unet_acdc_pretrain.py; AdamW as mmseg's ViT configs. Loaded in stage 2 by
# vit_acdc.py.
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
    backbone=_base_.vit_encoder,
    proj_head=dict(in_channels=384, in_index=-1, hidden_channels=256))
optim_wrapper = _base_.vit_optim_wrapper
# The whole encoder goes into encoder.pth.
custom_hooks = [
    dict(type='MeanTeacherHook'),  # steps the EMA key branch
    dict(type='ExportEncoderHook', filename='encoder.pth'),
]
