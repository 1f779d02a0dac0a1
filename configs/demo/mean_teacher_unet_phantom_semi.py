# CPU demo: the mean-teacher baseline
# (configs/baselines/mean_teacher_unet_1xb24-30k_acdc-7pat.py) on phantom
# ACDC, same data, batches (4 + 4) and schedule as
# ideal_unet_phantom_finetune.py; consistency ramp-up over 150 iterations.
_base_ = ['./ideal_unet_phantom_finetune.py']
pretrained_encoder = None
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
        rampup_iters=150, max_consistency_weight=0.1, ema_momentum=0.01),
    semi_test_cfg=dict(predict_with='student'),
    test_cfg=dict(mode='whole'))
custom_hooks = [
    dict(type='SemiSupSamplerHook'),
    dict(type='MeanTeacherHook'),
]
