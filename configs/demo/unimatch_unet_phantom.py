# CPU demo: the single-stream UniMatch-style baseline
# (configs/baselines/unimatch_unet_1xb24-30k_acdc-7pat.py) on phantom ACDC:
# same data, batches (4 + 4) and 600-iteration schedule as
# ideal_unet_phantom_finetune.py, no pre-training; consistency ramp-up over
# 150 iterations as the other phantom semi-supervised configs.
_base_ = ['./ideal_unet_phantom_finetune.py']
pretrained_encoder = None
# One UNet: the IDEAL encoder from scratch and IDEAL's stream-1 decoder
# (bilinear), both from _base_/models/ideal_unet_two_decoders.py.
model = dict(
    _delete_=True,
    type='UniMatchSemiSupModel',
    data_preprocessor=_base_.data_preprocessor,
    segmentor=dict(
        backbone=dict(_base_.model.segmentor.backbone, init_cfg=None),
        decode_head=_base_.model.segmentor.decode_head,
        test_cfg=dict(mode='whole')),
    unsup_branches=[
        dict(type='StrongViewPseudoLabel', num_views=2, cutmix_prob=0.5,
             loss_name='loss_st'),
        dict(type='FeaturePerturbation', p=0.5),
    ],
    pseudo_label_filters=[
        dict(type='DistributionAlignment', momentum=0.99),
        # CBST: per class, at least the most confident half of the pixels
        # predicted as that class is kept (threshold min(0.95, median))
        dict(type='ClassBalancedThreshold', portion=0.5),
    ],
    semi_train_cfg=dict(
        conf_threshold=0.95,
        unsup_loss=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5,
                 avg_non_ignore=True, loss_name='loss_st'),
            dict(type='ClassDiceLoss', loss_weight=0.5, present_only=True),
        ],
        max_consistency_weight=0.5,
        rampup_iters=150))

# the demo's training pipeline plus the strong views
train_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='WeakStrongViews', num_strong=2),
    _base_.train_pipeline[-1],
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
