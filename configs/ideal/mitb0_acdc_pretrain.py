# IDEAL stage 1 on ACDC with mmseg's MixVisionTransformer MiT-B0
# (single-channel patch embedding). Its deepest level is 1/32 (8x8 at 256), so
# the dense head fuses the two deepest levels at 1/16 (16x16, 160 + 256
# channels), the same grid as the UNet config. AdamW as usual for MiT.
_base_ = ['./unet_acdc_pretrain.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='MixVisionTransformer',
        in_channels=1,
        embed_dims=32,
        num_stages=4,
        num_layers=[2, 2, 2, 2],
        num_heads=[1, 2, 5, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1),
    proj_head=dict(in_channels=416, in_index=[2, 3], hidden_channels=256))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(
        pos_block=dict(decay_mult=0.0), norm=dict(decay_mult=0.0))))
# The whole encoder goes into encoder.pth: its first stage already works at
# 1/4 (MiT) or 1/2 (ResNet) resolution; leaving out the UNet's full-resolution
# stage (unet_acdc_pretrain.py) was measured for the UNet only.
custom_hooks = [dict(type='ExportEncoderHook', filename='encoder.pth')]
