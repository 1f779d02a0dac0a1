"""Losses written here; CE and the rest come from mmseg."""
from .class_dice_loss import ClassDiceLoss
from .comparator_losses import *  # noqa: F401,F403
from .comparator_losses import __all__ as _comparator_all
from .dense_contrastive_loss import DenseContrastiveLoss, GlobalContrastiveLoss

__all__ = [
    'ClassDiceLoss', 'DenseContrastiveLoss', 'GlobalContrastiveLoss',
    *_comparator_all
]
