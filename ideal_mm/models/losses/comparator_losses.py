"""The comparators' computations (BCP, UniMatch, MC-Net, Chaitanya et al.).

One import point for the modules below, so that the package ``__init__``
gains a single line.
"""
from .bcp_mix_loss import BCPMixedLoss, largest_component_per_class
from .box_masks import bcp_box_mask, unimatch_cutmix_box, unimatch_cutmix_boxes
from .local_contrastive_loss import LocalContrastiveLoss, local_region_layout
from .mutual_consistency_loss import MutualConsistencyLoss, sharpen

__all__ = [
    'BCPMixedLoss', 'largest_component_per_class', 'bcp_box_mask',
    'unimatch_cutmix_box', 'unimatch_cutmix_boxes', 'LocalContrastiveLoss',
    'local_region_layout', 'MutualConsistencyLoss', 'sharpen'
]
