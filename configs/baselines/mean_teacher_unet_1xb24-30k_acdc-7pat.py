# Mean teacher baseline (Tarvainen & Valpola 2017, as SSL4MIS trains it on
# ACDC): student = UNet encoder + bilinear UNet decoder (stream 1 of IDEAL),
# no pre-training; teacher = EMA of the student (decay 0.99, mmengine
# ExponentialMovingAverage, updated by MeanTeacherHook after every step).
# Labelled slices: 0.5 CE + 0.5 Dice; unlabelled: MSE between the student's
# softmax and the teacher's softmax on a noisy copy, weighted by
# 0.1 * exp(-5 (1 - t/30000)^2). Same data (7 labelled patients), batches
# (12 + 12) and schedule as configs/ideal/unet_acdc.py; predictions from the
# student (semi_test_cfg.predict_with='teacher' to evaluate the teacher).
_base_ = ['../ideal/unet_acdc.py']
pretrained_encoder = None
label_budget = 7
num_classes = 4
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    _delete_=True,
    type='MeanTeacherSemiSupModel',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=None,
        std=None,
        bgr_to_rgb=False,
        pad_val=0,
        seg_pad_val=255,
        size_divisor=32),
    backbone=dict(
        type='UNetEncoder',
        in_channels=1,
        base_channels=16,
        num_stages=5,
        strides=(1, 1, 1, 1, 1),
        enc_num_convs=(2, 2, 2, 2, 2),
        dec_num_convs=(2, 2, 2, 2),
        downsamples=(True, True, True, True),
        enc_dilations=(1, 1, 1, 1, 1),
        dec_dilations=(1, 1, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False),
    decode_head=dict(
        type='UNetDecoderHead',
        in_channels=[16, 32, 64, 128, 256],
        in_index=[0, 1, 2, 3, 4],
        channels=16,
        upsample_mode='bilinear',
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5),
            dict(type='ClassDiceLoss', loss_weight=0.5),
        ]),
    semi_train_cfg=dict(
        rampup_iters=30000,
        max_consistency_weight=0.1,
        ema_momentum=0.01,
        noise_std=0.1,
        noise_clip=0.2,
        unsup_on='unlabelled'),
    semi_test_cfg=dict(predict_with='student'),
    test_cfg=dict(mode='whole'))
train_dataloader = dict(dataset=dict(label_budget=label_budget))
custom_hooks = [
    dict(type='SemiSupSamplerHook'),
    dict(type='MeanTeacherHook'),
]
