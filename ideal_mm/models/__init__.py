"""Models: backbones, heads, losses, the pre-training model and segmentors."""
from . import backbones, heads, losses, segmentors, selfsup  # noqa: F401
