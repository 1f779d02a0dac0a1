# IDEAL stage 1 on ACDC with mmseg's HRNet-W18 (single-channel stem; the
# hrnet_encoder block of configs/_base_/models/encoder_swaps.py). The dense
# head fuses the two deepest branches at 1/16 (16x16 at 256, 72 + 144
# channels), the grid of the UNet config. HRNet is not in the geometry
# table: the probe measures its cells when the model is built (on an
# initialised copy, in training mode). Data, views, loss, SGD and schedule as
# unet_acdc_pretrain.py. Loaded in stage 2 by hrnet_acdc.py.
_base_ = ['./unet_acdc_pretrain.py', '../_base_/models/encoder_swaps.py']

model = dict(
    backbone=_base_.hrnet_encoder,
    proj_head=dict(in_channels=216, in_index=[2, 3], hidden_channels=256,
                   norm_cfg=_base_.hrnet_norm_cfg))
# The whole encoder goes into encoder.pth.
custom_hooks = [dict(type='ExportEncoderHook', filename='encoder.pth')]
