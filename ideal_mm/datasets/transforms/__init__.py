"""Registered components; each module registers on import."""
from . import intensity, loading  # noqa: F401,E402
from .two_view import (  # noqa: F401
    DenseContrastiveTwoView, PackTwoViewInputs, dense_correspondence)
from .geometric import RandomAffineResize  # noqa: F401
from .semi_views import PackSemiSegInputs, WeakStrongViews  # noqa: F401
from .unimatch_strong import (  # noqa: F401
    UniMatchStrongAug, UniMatchStrongViews)
