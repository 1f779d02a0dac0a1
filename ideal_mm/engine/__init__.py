"""Runner-side helpers: config preparation and hooks."""
from . import hooks
from .channels_last import ChannelsLastHook, to_channels_last
from .encoder_loading import VerifiedInitHook, init_weights_verified
from .export_encoder import ExportEncoderHook, export_encoder, save_encoder
from .nonfinite import NonFiniteLossError, NonFiniteLossHook
from .probe_hook import EncoderProbeHook
from .resume import IterSeedHook
from .visualization_hook import ACDCVisualizationHook

__all__ = [
    'hooks', 'ChannelsLastHook', 'to_channels_last', 'VerifiedInitHook',
    'init_weights_verified', 'ExportEncoderHook', 'export_encoder',
    'save_encoder', 'NonFiniteLossError', 'NonFiniteLossHook',
    'EncoderProbeHook', 'IterSeedHook', 'ACDCVisualizationHook'
]
