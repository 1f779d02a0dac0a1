"""Registered components; each module registers on import."""
from .unet_decoder_head import UNetDecoderHead  # noqa: F401
from .dense_proj_head import DenseConvProjHead, GlobalProjHead  # noqa: F401
