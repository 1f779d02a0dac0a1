# IDEAL stage 1 on ACDC with mmseg's ResNetV1c-50 (single-channel stem,
# dilated last stages as in mmseg's decode configs: output stride 8, a 32x32
# grid at 256x256). Data, views, loss and schedule as unet_acdc_pretrain.py.
# Multi-GPU: model.backbone.norm_cfg / proj_head.norm_cfg = dict(type='SyncBN',
# requires_grad=True).
_base_ = ['./unet_acdc_pretrain.py', '../_base_/models/encoder_swaps.py']

model = dict(
    backbone=_base_.resnet50_encoder,
    proj_head=dict(in_channels=2048, in_index=-1, hidden_channels=512,
                   norm_cfg=_base_.resnet50_norm_cfg))
# The whole encoder goes into encoder.pth: its first stage already works at
# 1/4 (MiT) or 1/2 (ResNet) resolution; leaving out the UNet's full-resolution
# stage (unet_acdc_pretrain.py) was measured for the UNet only.
custom_hooks = [
    dict(type='MeanTeacherHook'),  # steps the EMA key branch
    dict(type='ExportEncoderHook', filename='encoder.pth')
]
