"""Registered components; each module registers on import."""
from . import intensity, loading  # noqa: F401,E402
from .two_view import DenseContrastiveTwoView, PackTwoViewInputs, dense_correspondence  # noqa: F401
from .geometric import RandomAffineResize  # noqa: F401
from .semi_views import PackSemiSegInputs, WeakStrongViews  # noqa: F401
from .unimatch_strong import UniMatchStrongAug, UniMatchStrongViews  # noqa: F401
