# IDEAL stage 1 on ACDC with mmseg's ResNetV1c-50 (single-channel stem, dilated
# last stages as in mmseg's decode configs: output stride 8, a 32x32 grid at
# 256x256). Data, views, loss, schedule and hooks as unet_acdc_pretrain.py.
# Multi-GPU: model.backbone.norm_cfg / proj_head.norm_cfg = dict(type='SyncBN',
# requires_grad=True).
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
    backbone=_base_.resnet50_encoder,
    proj_head=dict(
        in_channels=2048,
        in_index=-1,
        hidden_channels=512,
        norm_cfg=_base_.resnet50_norm_cfg))
# The whole encoder goes into encoder.pth: its first stage already works at
# 1/4 (MiT) or 1/2 (ResNet) resolution; leaving out the UNet's full-resolution
# stage (unet_acdc_pretrain.py) was measured for the UNet only.
custom_hooks = [
    dict(type='MeanTeacherHook'),  # steps the EMA key branch
    dict(type='ExportEncoderHook', filename='encoder.pth')
]
