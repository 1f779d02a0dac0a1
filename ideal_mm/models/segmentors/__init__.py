"""Registered components; each module registers on import."""
from .semi_base import (SemiBatch, SemiSupervisedSegmentor,  # noqa: F401
                        split_labelled)
from .bi_consistency import BiConsistencySemiSupModel  # noqa: F401
from .bcp import BCPSemiSupModel  # noqa: F401
from .mean_teacher import MeanTeacherSemiSupModel  # noqa: F401
from .unimatch import UniMatchSemiSupModel  # noqa: F401
from .unimatch_style import UniMatchStyleSemiSupModel  # noqa: F401
from .unsup_branches import (BidirectionalCopyPaste,  # noqa: F401
                             FeaturePerturbation, StrongViewPseudoLabel,
                             UnsupBranch, WeakViewPseudoLabel)
from .pseudo_label_filters import (ClassBalancedThreshold,  # noqa: F401
                                   PseudoLabelFilter)
from .dist_align import DistributionAlignment  # noqa: F401
from .mc_net import MCNetSemiSupModel  # noqa: F401
