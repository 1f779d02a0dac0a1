"""Intensity normalisation of a volume: per volume and channel, or a fixed
window."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from ideal_mm.errors import ConfigError

NORMALIZE_MODES = ('minmax', 'zscore')
#: Modes of :func:`normalize_image`: the per-volume ones plus ``'window'``
#: (a fixed intensity window, e.g. CT Hounsfield units, see there).
IMAGE_NORMALIZE_MODES = NORMALIZE_MODES + ('window', )


def normalize_volume(vol: np.ndarray, mode: str) -> np.ndarray:
    """Normalise a whole volume; returns float32.

    ``'minmax'``: ``(v - min) / (max - min)`` into [0, 1];
    ``'zscore'``: ``(v - mean) / std``. A constant volume gives zeros
    (no division by zero).
    """
    if mode not in NORMALIZE_MODES:
        raise ConfigError(f'normalize={mode!r} is not supported; use one of '
                          f'{NORMALIZE_MODES}')
    vol = np.asarray(vol, dtype=np.float32)
    if vol.size == 0:
        return vol.copy()
    if mode == 'minmax':
        lo = float(vol.min())
        rng = float(vol.max()) - lo
        if rng <= 0:
            return np.zeros_like(vol)
        return ((vol - lo) / rng).astype(np.float32)
    mean = float(vol.mean(dtype=np.float64))
    std = float(vol.std(dtype=np.float64))
    if std <= 0:
        return np.zeros_like(vol)
    return ((vol - mean) / std).astype(np.float32)


def normalize_image(vol: np.ndarray,
                    mode: str,
                    window: Optional[Sequence[float]] = None) -> np.ndarray:
    """Normalise a (D, H, W) volume or each channel of a (D, H, W, C) one.

    ``'minmax'`` / ``'zscore'``: :func:`normalize_volume` per channel (MRI:
    intensities have no absolute scale). ``'window'`` with
    ``window=(lo, hi)``: ``(clip(v, lo, hi) - lo) / (hi - lo)``, the same
    map for every volume, as nnU-Net clips CT to a fixed intensity range
    (Hounsfield units keep their meaning across scans).
    """
    if mode not in IMAGE_NORMALIZE_MODES:
        raise ConfigError(f'normalize={mode!r} is not supported; use one of '
                          f'{IMAGE_NORMALIZE_MODES}')
    vol = np.asarray(vol, dtype=np.float32)
    if mode == 'window':
        lo, hi = check_window(window)
        return ((np.clip(vol, lo, hi) - lo) / (hi - lo)).astype(np.float32)
    if vol.ndim == 4:
        return np.ascontiguousarray(
            np.stack([
                normalize_volume(vol[..., c], mode)
                for c in range(vol.shape[-1])
            ],
                     axis=-1))
    return normalize_volume(vol, mode)


def check_window(window: Optional[Sequence[float]]) -> Tuple[float, float]:
    """``(lo, hi)`` of an intensity window, checked (finite, lo < hi)."""
    try:
        lo, hi = (float(v) for v in window)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ConfigError(
            f'intensity_window={window!r} must be (lo, hi), e.g. (-200, 800) '
            "for cardiac CT in HU; it is required with normalize='window'"
        ) from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ConfigError(f'intensity_window={window!r} must be finite with '
                          'lo < hi')
    return lo, hi
