"""Titled picture panels for looking at what a pipeline yields.

``tools/analysis/browse_dataset.py`` (:mod:`ideal_mm.analysis.browse`) lays
out slices, label overlays, two views joined by correspondence lines and
mixed images side by side. mmseg's ``SegLocalVisualizer`` draws one image
with one label map; these panels put several of them, each with a title,
in one RGB array, and draw with OpenCV (already an mmcv dependency) so no
figure machinery is needed per picture.

Images are 2D (H, W) intensity arrays, label maps (H, W) integer arrays;
panels are (h, w, 3) uint8 RGB arrays. Points are (x, y) = (column, row)
pixel centres, as in OpenCV.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence

import cv2
import numpy as np

from ideal_mm.atomic_files import atomic_path
from .montage import overlay_labels, tile_slices, to_uint8_gray

__all__ = [
    'extend_palette', 'label_panel', 'add_title', 'hstack_panels',
    'vstack_panels', 'legend_strip', 'correspondence_panel', 'panel_montage',
    'save_png'
]

IGNORE_COLOUR = (40, 40, 40)
TITLE_HEIGHT = 16
LINE_COLOURS = ((255, 255, 0), (0, 255, 255), (255, 0, 255), (0, 255, 0),
                (255, 128, 0), (128, 128, 255))


def extend_palette(palette: Optional[Sequence[Sequence[int]]],
                   num_labels: int) -> List[List[int]]:
    """``palette`` padded to ``num_labels`` colours (golden-angle hues)."""
    colours = [list(map(int, c)) for c in (palette or [])]
    i = len(colours)
    while len(colours) < num_labels:
        hue = int((i * 137.508) % 180)
        hsv = np.uint8([[[hue, 200, 255]]])
        rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
        colours.append([int(v) for v in rgb])
        i += 1
    return colours


def label_panel(image: np.ndarray,
                labels: Optional[np.ndarray],
                palette: Sequence[Sequence[int]],
                scale: int = 1,
                title: str = '',
                ignore_index: int = 255,
                alpha: float = 0.45) -> np.ndarray:
    """A gray image with its labels blended in, enlarged and titled.

    Labels above 0 take their palette colour (``overlay_labels``; the
    palette is extended to the largest label), ``ignore_index`` pixels are
    darkened; nearest-neighbour enlargement by ``scale`` keeps pixels sharp.
    """
    gray = to_uint8_gray(np.asarray(image))
    if labels is None:
        rgb = np.repeat(gray[..., None], 3, axis=-1)
    else:
        labels = np.asarray(labels)
        known = labels != ignore_index
        top = int(labels[known].max()) if known.any() else 0
        rgb = overlay_labels(gray, np.where(known, labels, 0),
                             extend_palette(palette, top + 1), alpha)
        if not known.all():
            dark = (
                rgb[~known].astype(np.float32) * 0.5 +
                np.float32(IGNORE_COLOUR) * 0.5)
            rgb[~known] = dark.astype(np.uint8)
    if scale > 1:
        rgb = cv2.resize(
            rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return add_title(rgb, title) if title else rgb


def add_title(panel: np.ndarray, title: str) -> np.ndarray:
    """``panel`` with a black strip above it holding ``title`` (cut to fit)."""
    h, w = panel.shape[:2]
    strip = np.zeros((TITLE_HEIGHT, w, 3), dtype=np.uint8)
    max_chars = max(1, w // 6)
    text = title if len(title) <= max_chars else title[:max_chars - 1] + '~'
    cv2.putText(strip, text, (2, TITLE_HEIGHT - 4), cv2.FONT_HERSHEY_SIMPLEX,
                0.35, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([strip, panel], axis=0)


def _pad_to(panel: np.ndarray, h: int, w: int) -> np.ndarray:
    out = np.zeros((h, w, 3), dtype=np.uint8)
    out[:panel.shape[0], :panel.shape[1]] = panel
    return out


def hstack_panels(panels: Sequence[np.ndarray], pad: int = 4) -> np.ndarray:
    """Panels left to right, top-aligned, ``pad`` black pixels apart."""
    if not panels:
        raise ValueError('no panels to stack')
    h = max(p.shape[0] for p in panels)
    parts: List[np.ndarray] = []
    for i, p in enumerate(panels):
        if i:
            parts.append(np.zeros((h, pad, 3), dtype=np.uint8))
        parts.append(_pad_to(p, h, p.shape[1]))
    return np.concatenate(parts, axis=1)


def vstack_panels(panels: Sequence[np.ndarray], pad: int = 4) -> np.ndarray:
    """Panels top to bottom, left-aligned, ``pad`` black pixels apart."""
    if not panels:
        raise ValueError('no panels to stack')
    w = max(p.shape[1] for p in panels)
    parts: List[np.ndarray] = []
    for i, p in enumerate(panels):
        if i:
            parts.append(np.zeros((pad, w, 3), dtype=np.uint8))
        parts.append(_pad_to(p, p.shape[0], w))
    return np.concatenate(parts, axis=0)


def legend_strip(classes: Sequence[str], palette: Sequence[Sequence[int]],
                 width: int) -> np.ndarray:
    """One line naming every class but the background in its colour (and
    the darkened colour of ignored pixels), wrapped to ``width``."""
    entries = [
        (str(name), tuple(int(v) for v in colour))
        for name, colour in zip(classes[1:],
                                extend_palette(palette, len(classes))[1:])
    ]
    entries.append(('ignored', IGNORE_COLOUR))
    rows: List[List[tuple]] = [[]]
    x = 2
    for name, colour in entries:
        size = 14 + 6 * len(name)
        if x + size > width and rows[-1]:
            rows.append([])
            x = 2
        rows[-1].append((x, name, colour))
        x += size + 6
    out = np.zeros((14 * len(rows) + 2, max(width, 1), 3), dtype=np.uint8)
    for r, row in enumerate(rows):
        y = 2 + 14 * r
        for x, name, colour in row:
            cv2.rectangle(out, (x, y + 2), (x + 9, y + 11), colour, -1)
            cv2.putText(out, name, (x + 12, y + 11), cv2.FONT_HERSHEY_SIMPLEX,
                        0.35, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _canvas_point(x: float,
                  y: float,
                  scale: int,
                  dx: int = 0,
                  dy: int = 0) -> tuple:
    """Pixel centre (x, y) of the original image -> enlarged canvas pixel."""
    return (int(round((x + 0.5) * scale - 0.5)) + dx,
            int(round((y + 0.5) * scale - 0.5)) + dy)


def correspondence_panel(view_q: np.ndarray,
                         view_k: np.ndarray,
                         lines: np.ndarray,
                         invalid: np.ndarray,
                         scale: int = 3,
                         pad: int = 8,
                         title: str = '') -> np.ndarray:
    """Query and key view side by side, corresponding cells joined.

    Args:
        view_q, view_k: (h, w) views.
        lines: (N, 4) ``qx, qy, kx, ky``: a query cell centre and its key
            point, in view pixels; drawn as a line from the query view to
            the key view, with a dot at each end.
        invalid: (M, 2) query cell centres the loss ignores; drawn as red
            crosses on the query view.
        scale: nearest-neighbour enlargement of both views.
    """
    q = label_panel(view_q, None, [], scale)
    k = label_panel(view_k, None, [], scale)
    h, w = q.shape[:2]
    canvas = hstack_panels([q, k], pad)
    dx = w + pad
    for qx, qy in np.asarray(invalid, dtype=np.float64).reshape(-1, 2):
        cx, cy = _canvas_point(qx, qy, scale)
        cv2.drawMarker(canvas, (cx, cy), (255, 40, 40),
                       cv2.MARKER_TILTED_CROSS, max(5, scale * 2), 1)
    for i, (qx, qy, kx, ky) in enumerate(
            np.asarray(lines, dtype=np.float64).reshape(-1, 4)):
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        p0 = _canvas_point(qx, qy, scale)
        p1 = _canvas_point(kx, ky, scale, dx)
        cv2.line(canvas, p0, p1, colour, 1, cv2.LINE_AA)
        cv2.circle(canvas, p0, 2, colour, -1)
        cv2.circle(canvas, p1, 2, colour, -1)
    return add_title(canvas, title) if title else canvas


def panel_montage(pictures: Sequence[np.ndarray], pad: int = 6) -> np.ndarray:
    """All pictures of a run in one grid (wide pictures one per row)."""
    if not pictures:
        raise ValueError('no pictures for the montage')
    h = max(p.shape[0] for p in pictures)
    w = max(p.shape[1] for p in pictures)
    tiles = [_pad_to(p, h, w) for p in pictures]
    n = len(tiles)
    ncols = max(1, min(n, int(round(math.sqrt(n * h / max(w, 1))))))
    return tile_slices(tiles, ncols=ncols, pad=pad)


def save_png(path: str, rgb: np.ndarray) -> str:
    """Write an RGB uint8 array as a PNG, atomically; returns ``path``."""
    ok, data = cv2.imencode('.png', np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise OSError(f'{path}: OpenCV could not encode the PNG')
    with atomic_path(path, suffix='.png.tmp') as tmp:
        with open(tmp, 'wb') as f:
            f.write(data.tobytes())
    return path
