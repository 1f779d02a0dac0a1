# IDEAL stage 1 on ACDC with mmseg's ResNetV1c-50 (single-channel stem,
# dilated last stages as in mmseg's decode configs: output stride 8, a 32x32
# grid at 256x256). Data, views, loss and schedule as unet_acdc_pretrain.py.
# For multi-GPU runs set norm_cfg to dict(type='SyncBN', requires_grad=True).
_base_ = ['./unet_acdc_pretrain.py']

norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNetV1c',
        in_channels=1,
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    proj_head=dict(in_channels=2048, in_index=-1, hidden_channels=512,
                   norm_cfg=norm_cfg))
# The whole encoder goes into encoder.pth: its first stage already works at
# 1/4 (MiT) or 1/2 (ResNet) resolution; leaving out the UNet's full-resolution
# stage (unet_acdc_pretrain.py) was measured for the UNet only.
custom_hooks = [dict(type='ExportEncoderHook', filename='encoder.pth')]
