"""Registered components; each module registers on import."""
from .bcp import BCPSemiSupModel
from .bi_consistency import BiConsistencySemiSupModel
from .dist_align import DistributionAlignment
from .mc_net import MCNetSemiSupModel
from .mean_teacher import MeanTeacherSemiSupModel
from .pseudo_label_filters import ClassBalancedThreshold, PseudoLabelFilter
from .semi_base import SemiBatch, SemiSupervisedSegmentor, split_labelled
from .unimatch import UniMatchSemiSupModel
from .unimatch_style import UniMatchStyleSemiSupModel
from .unsup_branches import (BidirectionalCopyPaste, FeaturePerturbation,
                             StrongViewPseudoLabel, UnsupBranch,
                             WeakViewPseudoLabel)

__all__ = [
    'BCPSemiSupModel', 'BiConsistencySemiSupModel', 'DistributionAlignment',
    'MCNetSemiSupModel', 'MeanTeacherSemiSupModel', 'ClassBalancedThreshold',
    'PseudoLabelFilter', 'SemiBatch', 'SemiSupervisedSegmentor',
    'split_labelled', 'UniMatchSemiSupModel', 'UniMatchStyleSemiSupModel',
    'BidirectionalCopyPaste', 'FeaturePerturbation', 'StrongViewPseudoLabel',
    'UnsupBranch', 'WeakViewPseudoLabel'
]
