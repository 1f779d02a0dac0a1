# This project's UniMatch-style baseline (UniMatchStyleSemiSupModel; the
# published recipe is unimatch_unet.py): one UNet (the IDEAL encoder from
# scratch + the bilinear UNet decoder, IDEAL's stream 1). Each unlabelled
# slice's weak-view prediction (confidence >= 0.95, distribution-aligned)
# supervises two strong views of it (WeakStrongViews: gamma, contrast,
# brightness, noise, blur; CutMix with the next slice of the same batch,
# p = 0.5, box sides 1/4-1/2) and a feature-perturbed branch (Dropout2d(0.5)
# on every encoder level). Labelled and unlabelled losses are 0.5 CE +
# 0.5 Dice (present classes only for pseudo-labels); weights 0.5 for the
# strong views together and 0.5 for the feature branch against 1 for the
# labelled loss, ramped over 3k iterations.
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
    type='UniMatchStyleSemiSupModel',
    data_preprocessor=data_preprocessor,
    segmentor=dict(
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
            loss_decode=[
                dict(
                    type='CrossEntropyLoss',
                    use_sigmoid=False,
                    loss_weight=0.5),
                dict(type='ClassDiceLoss', loss_weight=0.5),
            ]),
        test_cfg=dict(mode='whole')),
    unsup_branches=[
        dict(
            type='StrongViewPseudoLabel',
            num_views=2,
            cutmix_prob=0.5,
            loss_name='loss_st'),
        dict(type='FeaturePerturbation', p=0.5),
    ],
    pseudo_label_filters=[dict(type='DistributionAlignment', momentum=0.99)],
    semi_train_cfg=dict(
        conf_threshold=0.95,
        unsup_loss=[
            dict(
                type='CrossEntropyLoss',
                use_sigmoid=False,
                loss_weight=0.5,
                avg_non_ignore=True,
                loss_name='loss_st'),
            dict(type='ClassDiceLoss', loss_weight=0.5, present_only=True),
        ],
        max_consistency_weight=0.5,
        rampup_iters=3000))
