"""Pictures of volumes and label maps (numpy + matplotlib, no ideal_mm
imports), usable by every layer: the training hooks (engine) and
``ideal_mm.apis``."""
from .montage import (overlay_labels, save_volume_montage, tile_slices,
                      to_uint8_gray, volume_montage)

__all__ = [
    'overlay_labels', 'save_volume_montage', 'tile_slices', 'to_uint8_gray',
    'volume_montage'
]
