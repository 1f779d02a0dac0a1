"""Registered components; each module registers on import."""
from .bi_consistency import BiConsistencySemiSupModel
from .dist_align import DistributionAlignment
from .mean_teacher import MeanTeacherSemiSupModel
from .pseudo_label_filters import ClassBalancedThreshold, PseudoLabelFilter
from .semi_base import SemiBatch, SemiSupervisedSegmentor, split_labelled
from .unimatch import UniMatchSemiSupModel
from .unsup_branches import (BidirectionalCopyPaste, FeaturePerturbation,
                             StrongViewPseudoLabel, UnsupBranch,
                             WeakViewPseudoLabel)

__all__ = [
    'BiConsistencySemiSupModel', 'DistributionAlignment',
    'MeanTeacherSemiSupModel', 'ClassBalancedThreshold', 'PseudoLabelFilter',
    'SemiBatch', 'SemiSupervisedSegmentor', 'split_labelled',
    'UniMatchSemiSupModel', 'BidirectionalCopyPaste', 'FeaturePerturbation',
    'StrongViewPseudoLabel', 'UnsupBranch', 'WeakViewPseudoLabel'
]
