# Mean teacher baseline (Tarvainen & Valpola 2017, as SSL4MIS trains it on
# ACDC): student = UNet encoder + bilinear UNet decoder (stream 1 of IDEAL),
# no pre-training; teacher = EMA of the student (decay 0.99, mmengine
# ExponentialMovingAverage, updated by MeanTeacherHook after every step).
# Labelled slices: 0.5 CE + 0.5 Dice; unlabelled: MSE between the student's
# softmax and the teacher's softmax on a noisy copy, weighted by
# 0.1 * exp(-5 (1 - t/30000)^2). Same data (7 labelled patients), batches
# (12 + 12) and schedule as configs/ideal/unet_acdc.py; predictions from the
# student (semi_test_cfg.predict_on='teacher' to evaluate the teacher).
_base_ = ['../ideal/unet_acdc.py']
pretrained_encoder = None
label_budget = 7
# The student: the IDEAL encoder from scratch and IDEAL's stream-1 decoder
# (bilinear, 0.5 CE + 0.5 Dice), both from
# _base_/models/ideal_unet_two_decoders.py through unet_acdc.py.
model = dict(
    _delete_=True,
    type='MeanTeacherSemiSupModel',
    data_preprocessor=_base_.data_preprocessor,
    segmentor=dict(
        backbone=dict(_base_.model.backbone, init_cfg=None),
        decode_head=_base_.model.decode_head_1,
        test_cfg=dict(mode='whole')),
    semi_train_cfg=dict(
        rampup_iters=30000,
        max_consistency_weight=0.1,
        ema_momentum=0.01,
        noise_std=0.1,
        noise_clip=0.2,
        unsup_on='unlabelled'),
    semi_test_cfg=dict(predict_on='student'))
train_dataloader = dict(dataset=dict(label_budget=label_budget))
custom_hooks = [
    dict(type='SemiSupSamplerHook'),
    dict(type='MeanTeacherHook'),
]
