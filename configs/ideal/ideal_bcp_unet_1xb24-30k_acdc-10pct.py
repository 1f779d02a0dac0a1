# IDEAL with bidirectional copy-paste (BCP, Bai et al. 2023) composed with
# IDEAL's two streams (configs/_base_/models/stage2_options.py: bcp_branches,
# with the confident, distribution-aligned, class-balanced pseudo-labels
# without which BCP collapsed on the hard phantom), 10 % labels (7 of the 70
# SSL4MIS training patients). Every unlabelled slice swaps a box of 2/3 the
# image side with a labelled slice, both ways; the mixed targets join the
# labelled slice's ground truth and the other stream's pseudo-label. The
# plain cross pseudo-label term stays on. Everything else as unet_acdc.py.
_base_ = ['./unet_acdc.py', '../_base_/models/stage2_options.py']

model = dict(
    unsup_branches=_base_.bcp_branches,
    pseudo_label_filters=_base_.guarded_filters,
    semi_train_cfg=dict(
        **_base_.guarded_pseudo_labels,
        max_consistency_weight=0.5,
        rampup_iters=3000))
