# ideal_bcp_unet_1xb24-30k_acdc-10pct.py (IDEAL with bidirectional copy-paste, 10 % labels) on the
# encoder swap of mitb0_acdc.py (the mitb0_swap block of
# configs/_base_/models/encoder_swaps.py). Stage 1:
#   python tools/train.py configs/ideal/mitb0_acdc_pretrain.py
_base_ = ['./ideal_bcp_unet_1xb24-30k_acdc-10pct.py',
          '../_base_/models/encoder_swaps.py']

pretrain_config = 'configs/ideal/mitb0_acdc_pretrain.py'
pretrained_encoder = _base_.mitb0_encoder_file
model = _base_.mitb0_swap
optim_wrapper = _base_.mitb0_optim_wrapper
