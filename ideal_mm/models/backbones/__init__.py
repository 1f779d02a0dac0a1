"""Backbones written here (all other encoders come from mmseg / mmpretrain)."""
from .unet_encoder import UNetEncoder

__all__ = ['UNetEncoder']
