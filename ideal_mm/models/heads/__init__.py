"""Registered components; each module registers on import."""
from .unet_decoder_head import UNetDecoderHead  # noqa: F401
