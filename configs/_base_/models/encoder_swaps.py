# Encoder swaps of IDEAL's stage-2 model as named blocks (names no other base
# defines), so that the plain form (resnet50_acdc.py, mitb0_acdc.py) and every
# stage-2 option config take the same swap as a second base:
#   _base_ = ['./ideal_bcp_unet_1xb24-30k_acdc-10pct.py',
#             '../_base_/models/encoder_swaps.py']
#   model = _base_.resnet50_swap
# The *_encoder blocks are the encoders alone (stage 1 builds them too).
# The encoder files are those the matching *_pretrain.py configs export.

# mmseg's ResNetV1c-50 (single-channel stem, dilated last stages, output
# stride 8, exactly as configs/ideal/resnet50_acdc_pretrain.py); its four
# levels (256, 512, 1024, 2048 channels at 1/4, 1/8, 1/8, 1/8) feed the same
# two UNet decoders (bilinear vs transposed-convolution upsampling; a stage
# without downsampling is matched by resizing to the skip's size), narrowed to
# 64..512 channels. The decoders predict at 1/4; losses and predictions are
# resized to the input.
resnet50_encoder_file = 'work_dirs/resnet50_acdc_pretrain/encoder.pth'
resnet50_norm_cfg = dict(type='BN', requires_grad=True)
resnet50_decoder = dict(
    type='UNetDecoderHead',
    in_channels=[256, 512, 1024, 2048],
    in_index=[0, 1, 2, 3],
    channels=64,
    decoder_channels=[64, 128, 256, 512],
    norm_cfg=resnet50_norm_cfg)
resnet50_encoder = dict(
    _delete_=True,
    type='ResNetV1c',
    in_channels=1,
    depth=50,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    dilations=(1, 1, 2, 4),
    strides=(1, 2, 1, 1),
    norm_cfg=resnet50_norm_cfg,
    norm_eval=False,
    style='pytorch',
    contract_dilation=True)
resnet50_swap = dict(
    backbone=dict(
        resnet50_encoder,
        init_cfg=dict(
            type='Pretrained', checkpoint=resnet50_encoder_file,
            prefix='backbone.')),
    decode_head_1=resnet50_decoder,
    decode_head_2=resnet50_decoder)

# mmseg's MixVisionTransformer MiT-B0 (single-channel patch embedding, exactly
# as configs/ideal/mitb0_acdc_pretrain.py); its four levels (32, 64, 160, 256
# channels at 1/4 .. 1/32) feed the two UNet decoders (bilinear vs transposed
# convolution); they predict at 1/4 and mmseg resizes to the input. With it
# AdamW (lr 1e-4, no decay on norms / positional blocks) and poly decay, as
# mmseg's SegFormer configs: optim_wrapper = _base_.mitb0_optim_wrapper.
mitb0_encoder_file = 'work_dirs/mitb0_acdc_pretrain/encoder.pth'
mitb0_encoder = dict(
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
    drop_path_rate=0.1)
mitb0_swap = dict(
    backbone=dict(
        mitb0_encoder,
        init_cfg=dict(
            type='Pretrained', checkpoint=mitb0_encoder_file,
            prefix='backbone.')),
    decode_head_1=dict(
        in_channels=[32, 64, 160, 256], in_index=[0, 1, 2, 3], channels=32),
    decode_head_2=dict(
        in_channels=[32, 64, 160, 256], in_index=[0, 1, 2, 3], channels=32))
mitb0_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(
        pos_block=dict(decay_mult=0.0), norm=dict(decay_mult=0.0))))
