"""Losses written here; CE and the rest come from mmseg."""
from .class_dice_loss import ClassDiceLoss  # noqa: F401
from .dense_contrastive_loss import DenseContrastiveLoss, GlobalContrastiveLoss  # noqa: F401
from .comparator_losses import *  # noqa: F401,F403
