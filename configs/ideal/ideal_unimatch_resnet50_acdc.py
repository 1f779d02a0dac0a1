# ideal_unimatch_unet_1xb24-30k_acdc-10pct.py (IDEAL with the UniMatch-style stage-2 options, 10 % labels) on the
# encoder swap of resnet50_acdc.py (the resnet50_swap block of
# configs/_base_/models/encoder_swaps.py). Stage 1:
#   python tools/train.py configs/ideal/resnet50_acdc_pretrain.py
_base_ = ['./ideal_unimatch_unet_1xb24-30k_acdc-10pct.py',
          '../_base_/models/encoder_swaps.py']

pretrain_config = 'configs/ideal/resnet50_acdc_pretrain.py'
pretrained_encoder = _base_.resnet50_encoder_file
model = _base_.resnet50_swap
