# UniMatch as published (Yang et al., CVPR 2023; LiheYoung/UniMatch,
# more-scenarios/medical), UniMatchSemiSupModel: one UNet (the IDEAL encoder
# from scratch + the bilinear UNet decoder, IDEAL's stream 1, so that the
# comparison is between methods, not networks). Labelled slices:
# Lx = (CE + Dice) / 2; unlabelled slices (a batch of u slices and a batch of
# CutMix partners): Dice only, pixels with confidence < 0.95 ignored, on two
# strong views (each with the partner's strong view pasted in a box of area
# 2-40 %, aspect 0.3-3.3, p 0.5; the partner's label predicted in eval mode)
# and on the decoder of Dropout2d(0.5)'d features of every level:
#   loss = (Lx + 0.25 L_s1 + 0.25 L_s2 + 0.5 L_fp) / 2,   no ramp,
# so the decode head carries CE and Dice at 0.25 each and the unlabelled
# weights are 0.125, 0.125, 0.25. Differences from the official code are
# listed in docs/comparators.md ("UniMatch").
norm_cfg = dict(type='BN', requires_grad=True)
num_classes = 4
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=None,
    std=None,
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=32)
model = dict(
    type='UniMatchSemiSupModel',
    data_preprocessor=data_preprocessor,
    segmentor=dict(
        type='EncoderDecoder',
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
            with_cp=False,
            conv_cfg=None,
            norm_cfg=norm_cfg,
            act_cfg=dict(type='ReLU'),
            upsample_cfg=dict(type='InterpConv'),
            norm_eval=False,
            init_cfg=None),
        decode_head=dict(
            type='UNetDecoderHead',
            in_channels=[16, 32, 64, 128, 256],
            in_index=[0, 1, 2, 3, 4],
            channels=16,
            num_convs=2,
            dropout_ratio=0.1,
            num_classes=num_classes,
            norm_cfg=norm_cfg,
            align_corners=False,
            upsample_mode='bilinear',
            # Lx / 2 = (CE + Dice) / 4 (unimatch.py 164-175)
            loss_decode=[
                dict(
                    type='CrossEntropyLoss',
                    use_sigmoid=False,
                    loss_weight=0.25),
                dict(type='ClassDiceLoss', eps=1e-5, loss_weight=0.25),
            ]),
        test_cfg=dict(mode='whole')),
    semi_train_cfg=dict(
        conf_threshold=0.95,
        unsup_loss=dict(type='ClassDiceLoss', eps=1e-5),
        loss_weights=dict(s1=0.125, s2=0.125, fp=0.25),
        fp_dropout=0.5,
        cutmix=dict(
            p=0.5, area_range=(0.02, 0.4), aspect_range=(0.3, 1 / 0.3)),
        rampup_iters=0,
        max_consistency_weight=1.0,
        unsup_on='unlabelled'))
