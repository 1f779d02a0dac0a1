# IDEAL backbone swap: mmseg's MixVisionTransformer MiT-B0 (single-channel
# patch embedding, exactly as configs/ideal/mitb0_acdc_pretrain.py) as the
# shared encoder, 10% labelled. Its four levels (32, 64, 160, 256 channels at
# 1/4 .. 1/32) feed the two UNet decoders (bilinear vs transposed
# convolution); they predict at 1/4 and mmseg resizes to the input. AdamW
# (lr 1e-4, no decay on norms / positional blocks) with poly decay, as
# mmseg's SegFormer configs. Multi-GPU: SyncBN only concerns the decoders
# here (MiT uses LayerNorm): set their norm_cfg to SyncBN.
_base_ = ['./unet_acdc.py']

pretrain_config = 'configs/ideal/mitb0_acdc_pretrain.py'
pretrained_encoder = 'work_dirs/mitb0_acdc_pretrain/encoder.pth'
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
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained_encoder,
            prefix='backbone.') if pretrained_encoder else None),
    decode_head_1=dict(
        in_channels=[32, 64, 160, 256], in_index=[0, 1, 2, 3], channels=32),
    decode_head_2=dict(
        in_channels=[32, 64, 160, 256], in_index=[0, 1, 2, 3], channels=32))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(
        pos_block=dict(decay_mult=0.0), norm=dict(decay_mult=0.0))))
