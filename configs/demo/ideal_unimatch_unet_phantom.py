# IDEAL stage 2 with the UniMatch-style options of BiConsistencySemiSupModel
# (configs/_base_/models/stage2_options.py), on phantom ACDC: the weak view's
# confident pseudo-label of each stream supervises the other stream on a
# strongly perturbed view (CutMix between unlabelled slices with probability
# 0.5) and on a feature-perturbed branch (Dropout2d(0.5) on every encoder
# level). Same split, batches and schedule as ideal_unet_phantom_finetune.py;
# weight ramped to 0.5 over 150 iterations. Watch unsup.s{k}.fg against
# sup.fg (and oracle.* on phantoms) for a pseudo-label collapse.
_base_ = ['./ideal_unet_phantom_finetune.py',
          '../_base_/models/stage2_options.py']

model = dict(
    unsup_branches=_base_.unimatch_branches,
    pseudo_label_filters=_base_.guarded_filters,
    semi_train_cfg=dict(
        **_base_.guarded_pseudo_labels,
        max_consistency_weight=0.5,
        rampup_iters=150))

# the demo's training pipeline plus the strong view
train_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='WeakStrongViews', num_strong=1),
    _base_.train_pipeline[-1],
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
