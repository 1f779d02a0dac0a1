"""Per-volume segmentation metrics: Dice, Jaccard, HD95, ASD, ASSD (mm).

The definitions are exactly those of ``medpy.metric.binary`` (``dc``, ``jc``,
``hd95``, ``asd``, ``assd`` with ``connectivity=1``), which ACDC papers use;
medpy is only a test dependency, and these functions are written here because
medpy recomputes the surfaces and a full-volume distance transform for every
metric, which makes per-volume evaluation slow.

Surface of a binary mask ``M``: ``S(M) = M XOR erode(M, cross)``, where
``cross = generate_binary_structure(ndim, 1)`` and voxels outside the array
count as background. ``d(x, S)`` is the Euclidean distance in mm (voxel index
differences scaled by ``spacing``) from voxel ``x`` to the nearest voxel of
``S``. With ``P`` the prediction and ``G`` the reference:

* ``A = {d(x, S(G)) : x in S(P)}``, ``B = {d(y, S(P)) : y in S(G)}``
* Dice ``= 2|P & G| / (|P| + |G|)``, Jaccard ``= |P & G| / |P | G|``
* HD95 ``= percentile_95(A ∪ B)`` (linear interpolation, as numpy)
* ASD ``= mean(A)`` (prediction surface to reference surface)
* ASSD ``= mean(A ∪ B)`` (the mean over the concatenation, not of two means)

Empty masks (where medpy returns 1.0 or raises): both empty gives NaN for every
metric; exactly one empty gives Dice 0, Jaccard 0 and NaN distances. Summaries
exclude NaN from means and count these cases.

Speed: per class, the masks are cropped to the bounding box of ``P | G``
padded by one voxel (clipped to the array). The erosion inside the crop equals
the full-volume one (every mask voxel keeps its whole neighbourhood, and at the
array border the crop border is the array border), and the distance transform
of ``~S(G)`` inside the crop is exact at every point of ``S(P)`` because all of
``S(G)`` lies inside the crop. The two surfaces and the two distance
transforms are computed once and give all five metrics.
"""
from __future__ import annotations

import math
from types import MappingProxyType
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
from scipy.ndimage import (binary_erosion, distance_transform_edt,
                           generate_binary_structure)

__all__ = [
    'ACDC_LABELS', 'METRIC_NAMES', 'binary_metrics', 'dice', 'jaccard',
    'surface_distances', 'volume_metrics'
]

#: ACDC label values by class name (0 is background).
ACDC_LABELS: Mapping[str, int] = MappingProxyType({'RV': 1, 'Myo': 2, 'LV': 3})
#: Keys of the per-class result dicts, in display order.
METRIC_NAMES: Tuple[str, ...] = ('dice', 'jaccard', 'hd95', 'asd', 'assd')

_NAN = float('nan')


def dice(pred: np.ndarray, gt: np.ndarray) -> float:
    """Dice ``2|P & G| / (|P| + |G|)`` as a fraction in [0, 1]; NaN if both are
    empty."""
    p, g = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    total = np.count_nonzero(p) + np.count_nonzero(g)
    return 2.0 * np.count_nonzero(p & g) / total if total else _NAN


def jaccard(pred: np.ndarray, gt: np.ndarray) -> float:
    """Jaccard ``|P & G| / |P | G|`` in [0, 1]; NaN if both are empty."""
    p, g = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    union = np.count_nonzero(p | g)
    return np.count_nonzero(p & g) / union if union else _NAN


def _bbox(mask: np.ndarray, pad: int = 1) -> Optional[Tuple[slice, ...]]:
    """Bounding box of the non-zero voxels grown by ``pad``; None if empty."""
    box = []
    for axis in range(mask.ndim):
        others = tuple(a for a in range(mask.ndim) if a != axis)
        idx = np.flatnonzero(mask.any(
            axis=others)) if others else np.flatnonzero(mask)
        if idx.size == 0:
            return None
        box.append(
            slice(
                max(int(idx[0]) - pad, 0),
                min(int(idx[-1]) + 1 + pad, mask.shape[axis])))
    return tuple(box)


def _check_spacing(spacing: Sequence[float], ndim: int) -> Tuple[float, ...]:
    """Return ``spacing`` as floats after checking its length and sign."""
    sp = tuple(float(s) for s in spacing)
    if len(sp) != ndim or not all(s > 0 and math.isfinite(s) for s in sp):
        raise ValueError(
            f'spacing {tuple(spacing)} must hold {ndim} positive finite '
            'values, one per array axis')
    return sp


def _surface_distances_cropped(
        p: np.ndarray, g: np.ndarray,
        sp: Tuple[float, ...]) -> Tuple[np.ndarray, np.ndarray]:
    """Both directed surface-distance sets of two non-empty masks already
    cropped."""
    cross = generate_binary_structure(p.ndim, 1)
    p_surf = p ^ binary_erosion(p, structure=cross, iterations=1)
    g_surf = g ^ binary_erosion(g, structure=cross, iterations=1)
    to_g = distance_transform_edt(~g_surf, sampling=sp)[p_surf]
    to_p = distance_transform_edt(~p_surf, sampling=sp)[g_surf]
    return to_g, to_p


def surface_distances(
        pred: np.ndarray, gt: np.ndarray,
        spacing: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """Directed surface distances in mm: ``(A, B)`` as in the module docstring.

    ``A[i]`` is the distance from the i-th prediction-surface voxel to the
    reference surface, ``B`` the other way round (both in C order, as medpy).
    Both masks must be non-empty (``ValueError`` otherwise).
    """
    p, g = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if p.shape != g.shape:
        raise ValueError(
            f'prediction shape {p.shape} differs from reference shape '
            f'{g.shape}')
    sp = _check_spacing(spacing, p.ndim)
    box = _bbox(p | g)
    if box is None or not p[box].any() or not g[box].any():
        raise ValueError(
            'surface distances need a non-empty prediction and reference')
    return _surface_distances_cropped(
        np.ascontiguousarray(p[box]), np.ascontiguousarray(g[box]), sp)


def _metrics_cropped(p: np.ndarray, g: np.ndarray,
                     sp: Tuple[float, ...]) -> Dict[str, float]:
    """All five metrics of two boolean masks that hold every foreground
    voxel."""
    n_p, n_g = int(np.count_nonzero(p)), int(np.count_nonzero(g))
    if n_p == 0 and n_g == 0:
        return dict.fromkeys(METRIC_NAMES, _NAN)
    if n_p == 0 or n_g == 0:
        return {
            'dice': 0.0,
            'jaccard': 0.0,
            'hd95': _NAN,
            'asd': _NAN,
            'assd': _NAN
        }
    inter = int(np.count_nonzero(p & g))
    to_g, to_p = _surface_distances_cropped(p, g, sp)
    both = np.concatenate([to_g, to_p])
    return {
        'dice': 2.0 * inter / (n_p + n_g),
        'jaccard': inter / (n_p + n_g - inter),
        'hd95': float(np.percentile(both, 95)),
        'asd': float(to_g.mean()),
        'assd': float(both.mean()),
    }


def binary_metrics(pred: np.ndarray, gt: np.ndarray,
                   spacing: Sequence[float]) -> Dict[str, float]:
    """Dice, Jaccard, HD95, ASD and ASSD (mm) of one binary prediction against
    its reference.

    Returns ``{'dice', 'jaccard', 'hd95', 'asd', 'assd'}`` with the formulas
    and empty-mask rules of the module docstring; Dice and Jaccard are
    fractions.
    """
    p, g = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if p.shape != g.shape:
        raise ValueError(
            f'prediction shape {p.shape} differs from reference shape '
            f'{g.shape}')
    sp = _check_spacing(spacing, p.ndim)
    box = _bbox(p | g)
    if box is None:
        return dict.fromkeys(METRIC_NAMES, _NAN)
    return _metrics_cropped(
        np.ascontiguousarray(p[box]), np.ascontiguousarray(g[box]), sp)


def volume_metrics(
        pred: np.ndarray,
        gt: np.ndarray,
        spacing: Sequence[float],
        labels: Mapping[str,
                        int] = ACDC_LABELS) -> Dict[str, Dict[str, float]]:
    """Per-class metrics of a label volume.

    Returns ``{class_name: {'dice', 'jaccard', 'hd95', 'asd', 'assd'}}``.

    Args:
        pred: predicted label map, any integer dtype, shape equal to ``gt``.
        gt: reference label map.
        spacing: voxel size in mm for each array axis, in the array's axis
            order (``(sz, sx, sy)`` for a (D, H, W) volume).
        labels: class name -> label value; class ``c`` compares ``pred == v``
            with ``gt == v``.

    Each class is :func:`binary_metrics` of its masks (formulas in the module
    docstring), computed on the padded bounding box of the foreground first.
    """
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(
            f'prediction shape {pred.shape} differs from reference shape '
            f'{gt.shape}')
    sp = _check_spacing(spacing, pred.ndim)
    values = [int(v) for v in labels.values()]
    if any(v == 0 for v in values):
        raise ValueError(
            'label value 0 is the background and cannot be a class')
    # One crop to the foreground of both maps (background 0 never counts).
    box = _bbox((pred != 0) | (gt != 0))
    if box is None:
        return {name: dict.fromkeys(METRIC_NAMES, _NAN) for name in labels}
    pred_c, gt_c = pred[box], gt[box]
    out: Dict[str, Dict[str, float]] = {}
    for name, value in labels.items():
        p, g = pred_c == value, gt_c == value
        sub = _bbox(p | g)
        if sub is None:
            out[name] = dict.fromkeys(METRIC_NAMES, _NAN)
            continue
        out[name] = _metrics_cropped(
            np.ascontiguousarray(p[sub]), np.ascontiguousarray(g[sub]), sp)
    return out
