# IDEAL stage 1 on ACDC with mmseg's HRNet-W18 (single-channel stem; the
# hrnet_encoder block of configs/_base_/models/encoder_swaps.py). The dense
# head reads the high-resolution branch (level 0: 1/4, 18 channels, a 64x64
# grid at 256), into which HRNet fuses every coarser branch. Cell geometry:
# HRNet is not in the table (its fuse layers add bilinearly upsampled coarser
# branches, so no level is centred where the convolutions alone would put it).
# The value below was measured by the probe on this encoder after init_weights
# (ideal_mm.geometry.probe_cell_geometry( backbone, [0]), seed 0: about 3
# minutes on 2 CPU cores, hence not at every build); delete the line to measure
# it again ('auto'). Data, views, loss, SGD, schedule and hooks as
# unet_acdc_pretrain.py. Loaded in stage 2 by hrnet_acdc.py.
_base_ = [
    '../_base_/models/ideal_unet_pretrainer.py',
    '../_base_/datasets/acdc_pretrain.py', '../_base_/default_runtime.py',
    '../_base_/schedules/pretrain_20k.py', '../_base_/models/encoder_swaps.py'
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(
        _delete_=True,
        type='CheckpointHook',
        by_epoch=False,
        interval=2000,
        max_keep_ckpts=2))

model = dict(
    backbone=_base_.hrnet_encoder,
    proj_head=dict(
        in_channels=18,
        in_index=0,
        hidden_channels=256,
        norm_cfg=_base_.hrnet_norm_cfg),
    cell_geometry=dict(stride=4, offset=(-8.0, -6.5)))
# The whole encoder goes into encoder.pth.
custom_hooks = [
    dict(type='MeanTeacherHook'),  # steps the EMA key branch
    dict(type='ExportEncoderHook', filename='encoder.pth'),
]
