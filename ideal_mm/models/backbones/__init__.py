"""Backbones written here (all other encoders come from mmseg / mmpretrain),
and :func:`RepeatInputChannels`, which feeds 1-channel slices to
3-channel-only mmseg backbones, and :func:`MainOutput`, which gives PIDNet-
and DDRNet-like backbones one output level in training and eval."""
from .main_output import MainOutput
from .repeat_channels import RepeatInputChannels
from .unet_encoder import UNetEncoder

__all__ = ['MainOutput', 'RepeatInputChannels', 'UNetEncoder']
