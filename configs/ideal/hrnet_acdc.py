# IDEAL backbone swap: mmseg's HRNet-W18 as the shared encoder (the hrnet_swap
# block of configs/_base_/models/encoder_swaps.py, exactly as
# configs/ideal/hrnet_acdc_pretrain.py; two UNet decoders over its four
# levels), 10% labelled. encoder.pth is loaded by VerifiedInitHook
# (default_runtime), which stops the run before its first iteration unless
# every tensor of the file reached the model.
_base_ = ['./unet_acdc.py', '../_base_/models/encoder_swaps.py']

pretrain_config = 'configs/ideal/hrnet_acdc_pretrain.py'
pretrained_encoder = _base_.hrnet_encoder_file
model = _base_.hrnet_swap
