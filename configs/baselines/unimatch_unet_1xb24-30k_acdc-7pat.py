# Single-stream UniMatch-style baseline (Yang et al., CVPR 2023, as UniMatch
# trains on ACDC): one UNet (encoder + bilinear decoder = stream 1 of IDEAL),
# no pre-training. Each unlabelled slice's weak-view prediction (confidence
# >= 0.95, distribution-aligned) supervises two strong views of it (gamma,
# contrast, brightness, noise, blur; CutMix with p = 0.5) and a
# feature-perturbed branch (Dropout2d(0.5) on every encoder level). Labelled
# and unlabelled losses are 0.5 CE + 0.5 Dice (present classes only for
# pseudo-labels); weights 0.5 for the strong views together and 0.5 for the
# feature branch, ramped over 3k iterations. Same data (7 labelled
# patients), batches (12 + 12) and schedule as configs/ideal/unet_acdc.py, so
# "IDEAL-UniMatch - UniMatch" measures pre-training plus the second stream.
_base_ = ['../ideal/unet_acdc.py']
pretrained_encoder = None
label_budget = 7
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
        max_consistency_weight=0.5,
        rampup_iters=3000),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='LoadACDCSlice', with_label=True,
         max_open={{_base_.max_open_volumes}}),
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
train_dataloader = dict(
    dataset=dict(label_budget=label_budget, pipeline=train_pipeline))
