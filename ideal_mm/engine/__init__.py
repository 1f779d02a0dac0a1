"""Runner-side helpers: config preparation and hooks."""
from .export_encoder import ExportEncoderHook, export_encoder, save_encoder  # noqa: F401
from . import hooks  # noqa: F401
from .visualization_hook import ACDCVisualizationHook  # noqa: F401
from .channels_last import ChannelsLastHook, to_channels_last  # noqa: F401
from .nonfinite import NonFiniteLossHook, NonFiniteLossError  # noqa: F401
from .resume import IterSeedHook  # noqa: F401
from .probe_hook import EncoderProbeHook  # noqa: F401
from .encoder_loading import (VerifiedInitHook,  # noqa: F401
                               init_weights_verified)
