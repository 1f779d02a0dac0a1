"""Registered components; each module registers on import."""
from . import intensity, loading
from .geometric import RandomAffineResize
from .semi_views import PackSemiSegInputs, WeakStrongViews
from .two_view import (DenseContrastiveTwoView, PackTwoViewInputs,
                       dense_correspondence)
from .unimatch_strong import UniMatchStrongAug, UniMatchStrongViews

__all__ = [
    'intensity', 'loading', 'RandomAffineResize', 'PackSemiSegInputs',
    'WeakStrongViews', 'DenseContrastiveTwoView', 'PackTwoViewInputs',
    'dense_correspondence', 'UniMatchStrongAug', 'UniMatchStrongViews'
]
