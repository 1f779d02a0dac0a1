# IDEAL with the UniMatch-style options of BiConsistencySemiSupModel
# (configs/_base_/models/stage2_options.py: weak-view pseudo-labels of each
# stream supervise the other stream on a strong view with CutMix and on a
# feature-dropout branch; confident, distribution-aligned, class-balanced
# pseudo-labels; CE + present-class Dice), 10 % labels (7 of the 70 SSL4MIS
# training patients), weight ramped to 0.5 over 3k iterations. Everything
# else as unet_acdc.py (pre-trained encoder, two UNet decoders, 12 + 12
# slices of 256x256, 30k iterations). The paper's plain form is unet_acdc.py.
_base_ = ['./unet_acdc.py', '../_base_/models/stage2_options.py']

model = dict(
    unsup_branches=_base_.unimatch_branches,
    pseudo_label_filters=_base_.guarded_filters,
    semi_train_cfg=dict(
        **_base_.guarded_pseudo_labels,
        max_consistency_weight=0.5,
        rampup_iters=3000))

# the training pipeline of unet_acdc.py plus the strong view
train_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='WeakStrongViews', num_strong=1),
    dict(type='PackSemiSegInputs', meta_keys=_base_.meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
