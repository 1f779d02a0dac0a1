"""Registered components; each module registers on import."""
from .semi_base import SemiBatch, SemiSupervisedSegmentor, split_labelled  # noqa: F401
from .bi_consistency import BiConsistencySemiSupModel  # noqa: F401
from .mean_teacher import MeanTeacherSemiSupModel  # noqa: F401
from .unimatch import UniMatchSemiSupModel  # noqa: F401
