"""Pictures of volumes and their label maps: gray scaling, overlays, montages.

mmseg's ``SegLocalVisualizer`` paints one 2D image; a cardiac volume is
easier to judge as a montage of all its short-axis slices with the
prediction overlaid (and the ground truth beside it). These helpers build
such montages with numpy and save them with matplotlib (Agg backend), in the
ACDC palette of ``ACDCDataset.METAINFO``.

Arrays are in ideal_mm's (D, H, W) order (``docs/data_contract.md``).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from ideal_mm.atomic_files import atomic_path

__all__ = [
    'to_uint8_gray', 'overlay_labels', 'tile_slices', 'volume_montage',
    'save_volume_montage'
]


def to_uint8_gray(
        img: np.ndarray,
        percentiles: Sequence[float] = (0.5, 99.5),
) -> np.ndarray:
    """Scale an image to uint8 [0, 255] between two intensity percentiles.

    ``out = clip((img - p_lo) / (p_hi - p_lo), 0, 1) * 255``; a constant
    image gives zeros. Percentiles (not min/max) keep one bright voxel from
    darkening the whole picture.
    """
    img = np.asarray(img, dtype=np.float32)
    if img.size == 0:
        return img.astype(np.uint8)
    lo, hi = np.percentile(img, percentiles)
    if not hi > lo:
        lo, hi = float(img.min()), float(img.max())
    if not hi > lo:
        return np.zeros(img.shape, dtype=np.uint8)
    scaled = np.clip((img - lo) / (hi - lo), 0.0, 1.0)
    return np.round(scaled * 255.0).astype(np.uint8)


def overlay_labels(gray: np.ndarray,
                   labels: Optional[np.ndarray],
                   palette: Sequence[Sequence[int]],
                   alpha: float = 0.5) -> np.ndarray:
    """RGB uint8 image: ``gray`` with every label > 0 blended in its colour.

    ``rgb = (1 - alpha) * gray + alpha * palette[label]`` where label > 0;
    background (0) and labels outside the palette stay gray.
    """
    gray = np.asarray(gray)
    if gray.dtype != np.uint8:
        gray = to_uint8_gray(gray)
    rgb = np.repeat(gray[..., None], 3, axis=-1).astype(np.float32)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != gray.shape:
            raise ValueError(f'labels {labels.shape} and image {gray.shape} '
                             'differ in shape')
        colours = np.asarray(palette, dtype=np.float32).reshape(-1, 3)
        for value in range(1, len(colours)):
            mask = labels == value
            if mask.any():
                rgb[mask] = (1 - alpha) * rgb[mask] + alpha * colours[value]
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def tile_slices(tiles: Sequence[np.ndarray],
                ncols: Optional[int] = None,
                pad: int = 2) -> np.ndarray:
    """Arrange equally sized (H, W, 3) tiles in a grid (row-major), padded.

    ``ncols`` defaults to ``ceil(sqrt(n))``.
    """
    if not tiles:
        raise ValueError('no slices to tile')
    h, w = tiles[0].shape[:2]
    n = len(tiles)
    ncols = ncols or int(math.ceil(math.sqrt(n)))
    nrows = int(math.ceil(n / ncols))
    out = np.zeros((nrows * (h + pad) + pad, ncols * (w + pad) + pad, 3),
                   dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y:y + h, x:x + w] = tile
    return out


def volume_montage(image: np.ndarray,
                   labels: Optional[np.ndarray],
                   palette: Sequence[Sequence[int]],
                   alpha: float = 0.5,
                   ncols: Optional[int] = None) -> np.ndarray:
    """Montage (RGB uint8) of every slice of a (D, H, W) volume with overlay.

    The gray scale is set once for the whole volume (percentiles of all
    voxels), so slices stay comparable.
    """
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f'image must be (D, H, W), got {image.shape}')
    gray = to_uint8_gray(image)
    tiles = [
        overlay_labels(gray[k], None if labels is None else labels[k], palette,
                       alpha) for k in range(image.shape[0])
    ]
    return tile_slices(tiles, ncols)


def save_volume_montage(out_file: str,
                        image: np.ndarray,
                        pred: np.ndarray,
                        palette: Sequence[Sequence[int]],
                        classes: Sequence[str],
                        gt: Optional[np.ndarray] = None,
                        title: Optional[str] = None,
                        alpha: float = 0.5,
                        dpi: int = 100) -> str:
    """Save a PNG: the prediction montage, and the ground truth beside it.

    Args:
        out_file: the PNG to write (atomically; folders are created).
        image: (D, H, W) intensities.
        pred: (D, H, W) predicted labels.
        palette: RGB colour per label value.
        classes: class name per label value (legend; background skipped).
        gt: (D, H, W) reference labels, or None.
        title: figure title (e.g. the volume name and its volumes in ml).

    Returns:
        ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    panels = [('prediction', volume_montage(image, pred, palette, alpha))]
    if gt is not None:
        panels.append(('ground truth', volume_montage(image, gt, palette,
                                                      alpha)))
    h, w = panels[0][1].shape[:2]
    scale = max(4.0 / max(w, 1), 1.0 / 100)
    fig_w = max(4.0, len(panels) * w * scale * 1.05)
    fig_h = max(3.0, h * scale + 1.0)
    fig, axes = plt.subplots(
        1, len(panels), figsize=(fig_w, fig_h), squeeze=False)
    for ax, (name, montage) in zip(axes[0], panels):
        ax.imshow(montage, interpolation='nearest')
        ax.set_title(name)
        ax.axis('off')
    handles = [
        Patch(
            color=np.asarray(palette[i], dtype=float) / 255.0,
            label=str(classes[i]))
        for i in range(1, min(len(palette), len(classes)))
    ]
    if handles:
        fig.legend(
            handles=handles,
            loc='lower center',
            ncol=len(handles),
            frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    try:
        with atomic_path(out_file, suffix='.png.tmp') as tmp:
            fig.savefig(tmp, dpi=dpi, format='png')
    finally:
        plt.close(fig)
    return out_file
