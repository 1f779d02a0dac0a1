# Encoder swaps of IDEAL's stage-2 model as named blocks (names no other base
# defines), so that the plain form (resnet50_acdc.py, mitb0_acdc.py) and every
# stage-2 option config take the same swap as a second base:
#   _base_ = ['../_base_/models/ideal_unet_two_decoders.py', ...,
#             '../_base_/models/encoder_swaps.py']
#   model = _base_.resnet50_swap
# A *_swap block gives the student's encoder and decoder
# (model.segmentor.backbone / decode_head) and stream 2's decoder
# (model.decode_head_2).
# The *_encoder blocks are the encoders alone (stage 1 builds them too).
# Blocks: resnet50_*, mitb0_*, swin_*, hrnet_*, vit_* (docs/backbones.md).
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
    segmentor=dict(
        backbone=dict(
            resnet50_encoder,
            init_cfg=dict(
                type='Pretrained',
                checkpoint=resnet50_encoder_file,
                prefix='backbone.')),
        decode_head=resnet50_decoder),
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
mitb0_decoder = dict(  # merged into the UNet decoders of the model base
    in_channels=[32, 64, 160, 256],
    in_index=[0, 1, 2, 3],
    channels=32)
mitb0_swap = dict(
    segmentor=dict(
        backbone=dict(
            mitb0_encoder,
            init_cfg=dict(
                type='Pretrained',
                checkpoint=mitb0_encoder_file,
                prefix='backbone.')),
        decode_head=mitb0_decoder),
    decode_head_2=mitb0_decoder)
mitb0_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys=dict(
            pos_block=dict(decay_mult=0.0), norm=dict(decay_mult=0.0))))

# mmseg's SwinTransformer, Swin-T (single-channel patch embedding; window 7 at
# 256x256 inputs: 64x64 .. 8x8 grids, padded to whole windows); its four
# levels (96, 192, 384, 768 channels at 1/4 .. 1/32) feed the two UNet
# decoders, narrowed to 48..384 channels. Cell geometry: the table
# (patch embedding 4x4/4 and 2x2 patch merging: centre-aligned cells).
# AdamW as mmseg's Swin configs: optim_wrapper = _base_.swin_optim_wrapper.
swin_encoder_file = 'work_dirs/swin_acdc_pretrain/encoder.pth'
swin_encoder = dict(
    _delete_=True,
    type='SwinTransformer',
    in_channels=1,
    pretrain_img_size=256,
    embed_dims=96,
    depths=[2, 2, 6, 2],
    num_heads=[3, 6, 12, 24],
    window_size=7,
    mlp_ratio=4,
    qkv_bias=True,
    drop_rate=0.0,
    attn_drop_rate=0.0,
    drop_path_rate=0.2,
    patch_norm=True,
    out_indices=(0, 1, 2, 3))
swin_decoder = dict(
    type='UNetDecoderHead',
    in_channels=[96, 192, 384, 768],
    in_index=[0, 1, 2, 3],
    channels=48,
    decoder_channels=[48, 96, 192, 384])
swin_swap = dict(
    segmentor=dict(
        backbone=dict(
            swin_encoder,
            init_cfg=dict(
                type='Pretrained',
                checkpoint=swin_encoder_file,
                prefix='backbone.')),
        decode_head=swin_decoder),
    decode_head_2=swin_decoder)
swin_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys=dict(
            absolute_pos_embed=dict(decay_mult=0.0),
            relative_position_bias_table=dict(decay_mult=0.0),
            norm=dict(decay_mult=0.0))))

# mmseg's HRNet-W18 (single-channel stem); its four branches (18, 36, 72,
# 144 channels at 1/4 .. 1/32) feed the two UNet decoders at their own
# widths. Cell geometry: not in the table; the stage-1 config gives the
# probe's measurement of level 0 explicitly (hrnet_acdc_pretrain.py).
hrnet_encoder_file = 'work_dirs/hrnet_acdc_pretrain/encoder.pth'
hrnet_norm_cfg = dict(type='BN', requires_grad=True)
hrnet_encoder = dict(
    _delete_=True,
    type='HRNet',
    in_channels=1,
    norm_cfg=hrnet_norm_cfg,
    norm_eval=False,
    extra=dict(
        stage1=dict(
            num_modules=1,
            num_branches=1,
            block='BOTTLENECK',
            num_blocks=(4, ),
            num_channels=(64, )),
        stage2=dict(
            num_modules=1,
            num_branches=2,
            block='BASIC',
            num_blocks=(4, 4),
            num_channels=(18, 36)),
        stage3=dict(
            num_modules=4,
            num_branches=3,
            block='BASIC',
            num_blocks=(4, 4, 4),
            num_channels=(18, 36, 72)),
        stage4=dict(
            num_modules=3,
            num_branches=4,
            block='BASIC',
            num_blocks=(4, 4, 4, 4),
            num_channels=(18, 36, 72, 144))))
hrnet_decoder = dict(
    type='UNetDecoderHead',
    in_channels=[18, 36, 72, 144],
    in_index=[0, 1, 2, 3],
    channels=18,
    decoder_channels=[18, 36, 72, 144],
    norm_cfg=hrnet_norm_cfg)
hrnet_swap = dict(
    segmentor=dict(
        backbone=dict(
            hrnet_encoder,
            init_cfg=dict(
                type='Pretrained',
                checkpoint=hrnet_encoder_file,
                prefix='backbone.')),
        decode_head=hrnet_decoder),
    decode_head_2=hrnet_decoder)

# mmseg's VisionTransformer, ViT-S/16 at 256x256 (single-channel patch
# embedding, 12 layers of 384 channels; every level is the same 16x16 grid):
# layers 3, 6, 9 and 12 feed the two UNet decoders (levels of one size are
# matched by resizing), which predict at 1/16. Its own init_weights ignores a
# backbone-level `prefix`: VerifiedInitHook (default_runtime) loads and
# checks encoder.pth. Cell geometry: the table (16x16/16 patches: 16 j + 7.5).
# AdamW as mmseg's ViT configs: optim_wrapper = _base_.vit_optim_wrapper.
vit_encoder_file = 'work_dirs/vit_acdc_pretrain/encoder.pth'
vit_encoder = dict(
    _delete_=True,
    type='VisionTransformer',
    in_channels=1,
    img_size=(256, 256),
    patch_size=16,
    embed_dims=384,
    num_layers=12,
    num_heads=6,
    mlp_ratio=4,
    out_indices=(2, 5, 8, 11),
    qkv_bias=True,
    drop_rate=0.0,
    attn_drop_rate=0.0,
    drop_path_rate=0.1,
    with_cls_token=True,
    final_norm=False,
    interpolate_mode='bicubic')
vit_decoder = dict(
    type='UNetDecoderHead',
    in_channels=[384, 384, 384, 384],
    in_index=[0, 1, 2, 3],
    channels=48,
    decoder_channels=[48, 96, 192, 384])
vit_swap = dict(
    segmentor=dict(
        backbone=dict(
            vit_encoder,
            init_cfg=dict(
                type='Pretrained',
                checkpoint=vit_encoder_file,
                prefix='backbone.')),
        decode_head=vit_decoder),
    decode_head_2=vit_decoder)
vit_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys=dict(
            pos_embed=dict(decay_mult=0.0),
            cls_token=dict(decay_mult=0.0),
            norm=dict(decay_mult=0.0))))
