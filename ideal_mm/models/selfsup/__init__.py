"""Registered components; each module registers on import."""
from .dense_pretrainer import DenseContrastivePretrainer, TwoViewDataPreprocessor  # noqa: F401
