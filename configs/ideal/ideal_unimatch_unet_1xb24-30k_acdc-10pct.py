# IDEAL with the unlabelled-signal options of BiConsistencySemiSupModel
# (UniMatch-style, composed with IDEAL's two streams), 10 % labels (7 of the
# 70 SSL4MIS training patients). Everything else as unet_acdc.py (pre-trained
# encoder, two UNet decoders, 12 + 12 slices of 256x256, 30k iterations).
# Each stream's weak-view pseudo-label with confidence >= 0.95 supervises the
# other stream on a strongly perturbed view (gamma, contrast, brightness,
# noise, blur; CutMix between unlabelled slices with p = 0.5) and on a
# feature-perturbed branch (Dropout2d(0.5) on every encoder level); CE +
# present-class Dice as the unlabelled loss on distribution-aligned
# pseudo-labels, weight ramped to 0.5 over 3k iterations. The paper's plain
# form is unet_acdc.py.
_base_ = ['./unet_acdc.py']

model = dict(
    semi_train_cfg=dict(
        strong_views=1,
        cutmix_prob=0.5,
        feature_dropout=0.5,
        conf_threshold=0.95,
        # UniMatch's unlabelled loss on ACDC, (CE + per-class Dice) over
        # confident pixels, with two guards against the collapse measured
        # without them on the hard phantom with 1 labelled patient (CE alone:
        # oracle.s1.pl_fg_dice 0.25 -> 0.00 by iteration 400, test Dice
        # 0.00; Dice over all classes alone: test Dice 0.061): the Dice
        # averages only over classes present among the kept pseudo-labels,
        # and pseudo-labels come from distribution-aligned probabilities
        # (labelled class shares / the stream's unlabelled marginal). The
        # same 0.5 CE + 0.5 Dice as the labelled slices, weight 0.5 each for
        # the strong and the feature-perturbed branch: UniMatch's ratio.
        unsup_loss=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5,
                 avg_non_ignore=True, loss_name='loss_cps'),
            dict(type='ClassDiceLoss', loss_weight=0.5, present_only=True),
        ],
        dist_align=dict(momentum=0.99),
        max_consistency_weight=0.5,
        rampup_iters=3000))

# the training pipeline of unet_acdc.py plus the strong view
train_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='WeakStrongViews', num_strong=1),
    dict(type='PackSemiSegInputs', meta_keys=_base_.meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
