# IDEAL stage 1 on ACDC: dense contrastive pre-training of the encoder-only
# UNet (base 16, 5 stages: the encoder of configs/_base_/models/unet_fcn.py).
# Data: every slice of the SSL4MIS train patients (labelled and unlabelled,
# labels never loaded); never val or test. Two views per slice with random
# flip / rotation / scale-crop / shift (exact correspondence) and per-view
# RandomIntensity. The dense head sits on the encoder output (deepest level,
# 1/16: a 16x16 grid at 256x256), as in the paper. Key branch: EMA copy.
# At the end ExportEncoderHook writes <work_dir>/encoder.pth (the encoder
# without its full-resolution stage, see below); load it with
# backbone init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.').
_base_ = [
    '../_base_/models/ideal_unet_pretrainer.py', '../_base_/default_runtime.py',
    '../_base_/schedules/pretrain_20k.py'
]

data_root = 'data/ACDC'
split_cfg = dict(type='ssl4mis')
crop_size = (256, 256)  # divisible by 16 (4 UNet downsamplings)
# model (encoder, dense head, loss, EMA key branch): _base_/models/ideal_unet_pretrainer.py

train_pipeline = [
    dict(type='LoadACDCSlice', with_label=False),
    dict(
        type='DenseContrastiveTwoView',
        out_size=crop_size,
        keep_ratio=False,
        flip_prob=0.5,
        rotate_prob=0.5,
        rotate_range=30,
        scale_range=(0.8, 1.25),
        translate=0.1,
        view_pipeline=[dict(type='RandomIntensity')]),
    dict(type='PackTwoViewInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ACDCDataset',
        data_root=data_root,
        source='raw',
        split='train',
        subset='all',
        split_cfg=split_cfg,
        pipeline=train_pipeline))
val_dataloader = None
val_evaluator = None
test_dataloader = None
test_evaluator = None

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(
        _delete_=True,
        type='CheckpointHook',
        by_epoch=False,
        interval=2000,
        max_keep_ckpts=2))
# Optimisation (issue: stage 1 must transfer the whole encoder). At
# initialisation the dense InfoNCE gives the encoder 10-15x the gradient of
# fine-tuning's CE + Dice, and with BN the effective step of the 1->16 first
# conv (weight norm ~1.4) is ~250x that of the deepest conv: at lr 0.01
# without warm-up its filters rotated 31 degrees and their DC share went
# 0.14 -> 0.34 within 20 iterations (supervised training moves them 5
# degrees), before the loss had learned anything: the full-resolution stage
# became a low-pass filter and transferring it hurt fine-tuning. So: a linear
# warm-up over the first 5 % of iterations and a 10x lower learning rate for
# the full-resolution stage (backbone.encoder.0); the deeper stages keep lr
# 0.01 so they move.
# Transfer: measured on the high-variability phantom (1 labelled patient,
# 5 seeds x 24 test volumes, configs/studies/phantom_hard.py), fine-tuning
# from this stage 1 without its full-resolution stage scored 0.408 +- 0.022
# Dice, from the whole encoder 0.329 +- 0.063 (paired difference +0.079,
# 95 % CI [+0.028, +0.129]), so encoder.pth leaves encoder.0 out
# (exclude=[] exports the whole encoder, as the paper transfers it).
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={'backbone.encoder.0.': dict(lr_mult=0.1)}))
warmup_iters = 1000
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=warmup_iters,
         end={{_base_.max_iters}}, by_epoch=False)
]
custom_hooks = [
    dict(type='MeanTeacherHook'),  # steps the EMA key branch
    dict(type='ExportEncoderHook', filename='encoder.pth',
         exclude=['encoder.0.'])
]
