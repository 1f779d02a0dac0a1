"""Registered components; each module registers on import."""
from .dense_proj_head import DenseConvProjHead, GlobalProjHead
from .unet_decoder_head import UNetDecoderHead

__all__ = ['DenseConvProjHead', 'GlobalProjHead', 'UNetDecoderHead']
