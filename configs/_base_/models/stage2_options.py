# The stage-2 options of BiConsistencySemiSupModel as named blocks (names that
# no other base defines, so this file can be a second base of any IDEAL
# stage-2 config): pseudo-label settings merged into model.semi_train_cfg and
# unlabelled-data branches given as model.unsup_branches:
#   _base_ = ['./unet_acdc.py', '../_base_/models/stage2_options.py']
#   model = dict(semi_train_cfg=dict(**_base_.guarded_pseudo_labels, ...),
#                unsup_branches=_base_.unimatch_branches)
# The plain form of the paper (no option) stays the model's default.

# Confident, balanced pseudo-labels: this project's guarded variant, (CE +
# per-class Dice) over pixels with confidence >= 0.95 (UniMatch itself uses
# Dice only on unlabelled views, see docs/comparators.md), with the guards
# against the collapse measured without them on the hard phantom with one
# labelled patient (docs/paper_to_code.md, "Stage-2 options on the same
# phantom", has the figures):
# * the Dice averages only over classes present among the kept pseudo-labels;
# * pseudo-labels come from distribution-aligned probabilities (labelled
#   class shares / the stream's unlabelled marginal, ReMixMatch);
# * CBST class thresholds: per class, at least the most confident half of the
#   pixels predicted as that class is kept (threshold min(0.95, median));
#   with alignment alone the fixed 0.95 kept only background.
# The same 0.5 CE + 0.5 Dice as the labelled slices.
guarded_filters = [
    dict(type='DistributionAlignment', momentum=0.99),
    dict(type='ClassBalancedThreshold', portion=0.5),
]
guarded_pseudo_labels = dict(
    conf_threshold=0.95,
    unsup_loss=[
        dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=0.5,
            avg_non_ignore=True,
            loss_name='loss_cps'),
        dict(type='ClassDiceLoss', loss_weight=0.5, present_only=True),
    ])

# UniMatch-style perturbations on IDEAL's two streams (model.unsup_branches):
# each stream's weak-view pseudo-label supervises the other stream on a
# strongly perturbed view (gamma, contrast, brightness, noise, blur; CutMix
# between unlabelled slices with p = 0.5) and on a feature-perturbed branch
# (Dropout2d(0.5) on every encoder level), weight 0.5 each: UniMatch's ratio.
# Needs WeakStrongViews (num_strong=1) in the train pipeline.
unimatch_branches = [
    dict(type='StrongViewPseudoLabel', num_views=1, cutmix_prob=0.5),
    dict(type='FeaturePerturbation', p=0.5),
]

# Bidirectional copy-paste (BCP, Bai et al. 2023): every unlabelled slice
# swaps a box of 2/3 the image side with a labelled slice, both ways; the
# mixed targets join the labelled slice's ground truth and the other stream's
# pseudo-label. The plain cross pseudo-label term stays on.
bcp_branches = [
    dict(type='WeakViewPseudoLabel'),
    dict(type='BidirectionalCopyPaste', prob=1.0, ratio=2 / 3),
]
