"""ideal_mm: IDEAL semi-supervised medical image segmentation on OpenMMLab.

Importing the package first applies :mod:`ideal_mm.compat` (mmcv without
compiled ops, safe checkpoint loading), then imports every submodule so that
all components register into mmseg's registries.
"""
from . import compat  # noqa: F401  (must come first)
from . import apis, datasets, engine, evaluation, models  # noqa: F401
from .version import __version__

__all__ = ['__version__']
