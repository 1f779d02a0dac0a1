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
# One UNet: the IDEAL encoder from scratch and IDEAL's stream-1 decoder
# (bilinear, 0.5 CE + 0.5 Dice), both from
# _base_/models/ideal_unet_two_decoders.py through unet_acdc.py.
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
    pseudo_label_filters=[dict(type='DistributionAlignment', momentum=0.99)],
    semi_train_cfg=dict(
        conf_threshold=0.95,
        unsup_loss=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5,
                 avg_non_ignore=True, loss_name='loss_st'),
            dict(type='ClassDiceLoss', loss_weight=0.5, present_only=True),
        ],
        max_consistency_weight=0.5,
        rampup_iters=3000))

# the training pipeline of unet_acdc.py plus the strong views
train_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='WeakStrongViews', num_strong=2),
    dict(type='PackSemiSegInputs', meta_keys=_base_.meta_keys),
]
train_dataloader = dict(
    dataset=dict(label_budget=label_budget, pipeline=train_pipeline))
