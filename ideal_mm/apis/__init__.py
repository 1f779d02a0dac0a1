"""Registered components; each module registers on import."""
from .inference import init_model, load_volume, segment_volume  # noqa: F401
from .visualize import save_volume_montage, volume_montage  # noqa: F401
