# IDEAL backbone swap: mmseg's MixVisionTransformer MiT-B0 as the shared
# encoder (the mitb0_swap block of configs/_base_/models/encoder_swaps.py:
# single-channel patch embedding, exactly as configs/ideal/mitb0_acdc_pretrain.py),
# 10% labelled, with AdamW as mmseg's SegFormer configs. Multi-GPU: SyncBN
# only concerns the decoders here (MiT uses LayerNorm): set their norm_cfg.
_base_ = ['./unet_acdc.py', '../_base_/models/encoder_swaps.py']

pretrain_config = 'configs/ideal/mitb0_acdc_pretrain.py'
pretrained_encoder = _base_.mitb0_encoder_file
model = _base_.mitb0_swap
optim_wrapper = _base_.mitb0_optim_wrapper
