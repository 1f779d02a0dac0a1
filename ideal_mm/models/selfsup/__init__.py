"""Registered components; each module registers on import."""
from .dense_pretrainer import DenseContrastivePretrainer  # noqa: F401
from .local_contrastive_pretrainer import \
    LocalContrastivePretrainer  # noqa: F401
from .two_view_preprocessor import TwoViewDataPreprocessor  # noqa: F401
