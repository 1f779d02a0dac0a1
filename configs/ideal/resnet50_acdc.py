# IDEAL backbone swap: mmseg's ResNetV1c-50 as the shared encoder (the
# resnet50_swap block of configs/_base_/models/encoder_swaps.py: dilated last
# stages, output stride 8, exactly as configs/ideal/resnet50_acdc_pretrain.py;
# the two UNet decoders narrowed to 64..512 channels), 10% labelled.
# Multi-GPU: set norm_cfg = dict(type='SyncBN', requires_grad=True) in
# backbone / decode_head_1 / decode_head_2 as ideal_unet_4xb6-30k_acdc-10pct.py.
_base_ = ['./unet_acdc.py', '../_base_/models/encoder_swaps.py']

pretrain_config = 'configs/ideal/resnet50_acdc_pretrain.py'
pretrained_encoder = _base_.resnet50_encoder_file
model = _base_.resnet50_swap
