"""The montage helpers under their ``ideal_mm.apis`` name.

They live in :mod:`ideal_mm.visualization.montage`, a layer below both
``ideal_mm.engine`` (the visualisation hook uses them) and ``ideal_mm.apis``.
"""
from ideal_mm.visualization.montage import (overlay_labels,
                                            save_volume_montage, tile_slices,
                                            to_uint8_gray, volume_montage)

__all__ = [
    'to_uint8_gray', 'overlay_labels', 'tile_slices', 'volume_montage',
    'save_volume_montage'
]
