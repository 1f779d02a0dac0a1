# The mean-teacher baseline's model (Tarvainen & Valpola 2017, as SSL4MIS
# trains it on ACDC), MeanTeacherSemiSupModel: the student is the IDEAL
# encoder (ideal_unet_encoder.py, from scratch) and IDEAL's stream-1 decoder
# (bilinear UNet decoder, 0.5 CE + 0.5 class Dice, as
# ideal_unet_two_decoders.py); the teacher is its EMA (decay 0.99: mmengine
# momentum 0.01, stepped by MeanTeacherHook after every optimizer step).
# Unlabelled slices: MSE between the student's softmax and the teacher's
# softmax on a noisy copy, weighted by 0.1 * exp(-5 (1 - t/30000)^2).
# Predictions from the student (semi_test_cfg.predict_on='teacher' evaluates
# the teacher). A config using this file adds MeanTeacherHook to
# custom_hooks.
_base_ = ['./ideal_unet_encoder.py']
num_classes = 4
sup_losses = [
    dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5),
    dict(type='ClassDiceLoss', loss_weight=0.5),
]
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=None,
    std=None,
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=32)
model = dict(
    _delete_=True,  # the encoder file's `backbone` moves into the student
    type='MeanTeacherSemiSupModel',
    data_preprocessor=data_preprocessor,
    segmentor=dict(
        backbone=dict(_base_.model.backbone, init_cfg=None),
        decode_head=dict(
            type='UNetDecoderHead',
            in_channels=[16, 32, 64, 128, 256],
            in_index=[0, 1, 2, 3, 4],
            channels=16,
            num_convs=2,
            dropout_ratio=0.1,
            num_classes=num_classes,
            norm_cfg={{_base_.norm_cfg}},
            align_corners=False,
            loss_decode=sup_losses,
            upsample_mode='bilinear'),
        test_cfg=dict(mode='whole')),
    semi_train_cfg=dict(
        rampup_iters=30000,
        max_consistency_weight=0.1,
        ema_momentum=0.01,
        noise_std=0.1,
        noise_clip=0.2,
        unsup_on='unlabelled'),
    semi_test_cfg=dict(predict_on='student'))
