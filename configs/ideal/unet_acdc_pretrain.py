# IDEAL stage 1 on ACDC: dense contrastive pre-training of the encoder-only
# UNet (base 16, 5 stages: the encoder of configs/_base_/models/unet_fcn.py;
# model: _base_/models/ideal_unet_pretrainer.py). Data: every slice of the
# SSL4MIS train patients, two views each (_base_/datasets/acdc_pretrain.py).
# The dense head sits on the encoder output (deepest level, 1/16: a 16x16 grid
# at 256x256), as in the paper. Key branch: EMA copy. At the end
# ExportEncoderHook writes <work_dir>/encoder.pth (the encoder without its
# full-resolution stage, see below); load it with backbone
# init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.').
_base_ = [
    '../_base_/models/ideal_unet_pretrainer.py',
    '../_base_/datasets/acdc_pretrain.py', '../_base_/default_runtime.py',
    '../_base_/schedules/pretrain_20k.py'
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(
        _delete_=True,
        type='CheckpointHook',
        by_epoch=False,
        interval=2000,
        max_keep_ckpts=2))
# Optimisation (stage 1 must transfer the whole encoder). At initialisation
# the dense InfoNCE gives the encoder 10-15x the gradient of fine-tuning's
# CE + Dice, and with BN the effective step of the 1->16 first conv (weight
# norm ~1.4) is ~250x that of the deepest conv: at lr 0.01 without warm-up
# its filters rotated 31 degrees and their DC share went 0.14 -> 0.34 within
# 20 iterations (supervised training moves them 5 degrees), before the loss
# had learned anything: the full-resolution stage became a low-pass filter
# and transferring it hurt fine-tuning. So: the schedule's linear warm-up
# over the first 5 % of iterations and a 10x lower learning rate for the
# full-resolution stage (backbone.encoder.0); the deeper stages keep lr 0.01
# so they move. encoder.pth leaves encoder.0 out because fine-tuning from it
# transferred better on the high-variability phantom (docs/paper_to_code.md
# has the measurement); exclude=[] exports the whole encoder, as the paper
# transfers it.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone.encoder.0.': dict(lr_mult=0.1)}))
custom_hooks = [
    dict(type='MeanTeacherHook'),  # steps the EMA key branch
    dict(
        type='ExportEncoderHook',
        filename='encoder.pth',
        exclude=['encoder.0.'])
]
