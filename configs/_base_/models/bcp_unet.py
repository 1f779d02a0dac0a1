# BCP (Bai et al., CVPR 2023; DeepMed-Lab-ECNU/BCP code/ACDC_BCP_train.py)
# on the IDEAL UNet: the student is the IDEAL encoder (ideal_unet_encoder.py,
# from scratch) + a bilinear UNet decoder (UNetDecoderHead), as the
# supervised UNetEncoder configs. BCPSemiSupModel trains it with BCP's mixed
# loss only, so the head's loss_decode is never called during training (it
# is kept for mmseg's tools). Phase 'self_train' (this file's default): EMA
# teacher with momentum 0.01 (= BCP's 0.99), argmax + largest component per
# class, no threshold, no ramp, u_weight 0.5; the labelled phase sets
# phase='labelled' and ema_momentum=None. Prediction: the student.
_base_ = ['./ideal_unet_encoder.py']
num_classes = 4
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=None,
    std=None,
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=16)
model = dict(
    _delete_=True,
    type='BCPSemiSupModel',
    data_preprocessor=data_preprocessor,
    segmentor=dict(
        backbone={{_base_.model.backbone}},
        decode_head=dict(
            type='UNetDecoderHead',
            in_channels=[16, 32, 64, 128, 256],
            in_index=[0, 1, 2, 3, 4],
            channels=16,
            upsample_mode='bilinear',
            num_convs=2,
            dropout_ratio=0.1,
            num_classes=num_classes,
            norm_cfg={{_base_.norm_cfg}},
            align_corners=False,
            loss_decode=[
                dict(
                    type='CrossEntropyLoss',
                    use_sigmoid=False,
                    loss_weight=0.5),
                dict(type='ClassDiceLoss', loss_weight=0.5),
            ]),
        test_cfg=dict(mode='whole')),
    semi_train_cfg=dict(
        phase='self_train',
        ema_momentum=0.01,
        u_weight=0.5,
        largest_component=True,
        teacher_train_mode=True,
        rampup_iters=0,
        max_consistency_weight=1.0,
        unsup_on='unlabelled'),
    semi_test_cfg=dict(predict_on='student'))
