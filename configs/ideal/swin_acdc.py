# IDEAL backbone swap: mmseg's Swin-T as the shared encoder (the swin_swap
# block of configs/_base_/models/encoder_swaps.py, exactly as
# configs/ideal/swin_acdc_pretrain.py; two UNet decoders over its four
# levels), 10% labelled. encoder.pth is loaded by VerifiedInitHook
# (default_runtime), which stops the run before its first iteration unless
# every tensor of the file reached the model.
_base_ = ['./unet_acdc.py', '../_base_/models/encoder_swaps.py']

pretrain_config = 'configs/ideal/swin_acdc_pretrain.py'
pretrained_encoder = _base_.swin_encoder_file
model = _base_.swin_swap
optim_wrapper = _base_.swin_optim_wrapper
