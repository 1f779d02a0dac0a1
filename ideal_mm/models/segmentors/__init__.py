"""Registered components; each module registers on import."""
from .bi_consistency import BiConsistencySemiSupModel  # noqa: F401
from .mean_teacher import MeanTeacherSemiSupModel  # noqa: F401
