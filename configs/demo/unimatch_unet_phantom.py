# CPU demo: the single-stream UniMatch-style baseline
# (configs/baselines/unimatch_unet_1xb24-30k_acdc-7pat.py) on phantom ACDC:
# same data, batches (4 + 4) and 600-iteration schedule as
# ideal_unet_phantom_finetune.py, no pre-training; consistency ramp-up over
# 150 iterations as the other phantom semi-supervised configs.
_base_ = ['./ideal_unet_phantom_finetune.py']
pretrained_encoder = None
num_classes = 4
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    _delete_=True,
    type='UniMatchSemiSupModel',
    data_preprocessor={{_base_.data_preprocessor}},
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
        loss_decode={{_base_.sup_losses}}),
    semi_train_cfg=dict(
        conf_threshold=0.95,
        strong_views=2,
        cutmix_prob=0.5,
        feature_dropout=0.5,
        unsup_loss=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5,
                 avg_non_ignore=True, loss_name='loss_st'),
            dict(type='ClassDiceLoss', loss_weight=0.5, present_only=True),
        ],
        dist_align=dict(momentum=0.99),
        # CBST: per class, at least the most confident half of the pixels
        # predicted as that class is kept (threshold min(0.95, median))
        class_portion=0.5,
        max_consistency_weight=0.5,
        rampup_iters=150),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='LoadACDCSlice', with_label=True),
    dict(
        type='RandomAffineResize',
        out_size={{_base_.crop_size}},
        rotate_prob=0.5,
        rotate_range=20,
        flip_prob=0.5,
        flip_direction=['horizontal', 'vertical']),
    dict(type='RandomIntensity'),
    dict(type='WeakStrongViews', num_strong=2),
    dict(type='PackSemiSegInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
