# IDEAL backbone swap: mmseg's ResNetV1c-50 (single-channel stem, dilated last
# stages, output stride 8, exactly as configs/ideal/resnet50_acdc_pretrain.py)
# as the shared encoder, 10% labelled. Its four levels (256, 512, 1024, 2048
# channels at 1/4, 1/8, 1/8, 1/8) feed the same two UNet decoders (bilinear
# vs transposed-convolution upsampling; a stage without downsampling is
# matched by resizing to the skip's size), narrowed to 64..512 channels. The
# decoders predict at 1/4; losses and predictions are resized to the input.
# Multi-GPU: norm_cfg = dict(type='SyncBN', requires_grad=True) and set it in
# backbone / decode_head_1 / decode_head_2 as ideal_unet_4xb6-30k_acdc-10pct.py.
_base_ = ['./unet_acdc.py']

pretrain_config = 'configs/ideal/resnet50_acdc_pretrain.py'
pretrained_encoder = 'work_dirs/resnet50_acdc_pretrain/encoder.pth'
norm_cfg = dict(type='BN', requires_grad=True)
decoder = dict(
    type='UNetDecoderHead',
    in_channels=[256, 512, 1024, 2048],
    in_index=[0, 1, 2, 3],
    channels=64,
    decoder_channels=[64, 128, 256, 512],
    norm_cfg=norm_cfg)
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
        contract_dilation=True,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained_encoder,
            prefix='backbone.') if pretrained_encoder else None),
    decode_head_1=decoder,
    decode_head_2=decoder)
