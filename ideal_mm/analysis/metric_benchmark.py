"""Benchmark of :func:`ideal_mm.evaluation.functional.volume_metrics` against
medpy on cardiac-like label volumes; ``tools/analysis/benchmark_metrics.py``
is the command line.

The volumes (D x H x W, ACDC spacing) hold an LV ellipse tapering towards
the apex, a myocardium ring around it and an RV crescent beside it. Each
prediction is the same anatomy with perturbed centre, radii and thickness,
plus a small false-positive island, so its errors look like a trained
network's. :func:`compare_with_medpy` times our single call against medpy's
``dc + jc + hd95 + asd`` per class (median over repeats) and returns the
largest relative difference of the values.
"""
from __future__ import annotations

import statistics
import time
from typing import Dict, List, Tuple

import numpy as np

from ideal_mm.evaluation.functional import ACDC_LABELS, volume_metrics

__all__ = [
    'SPACING', 'cardiac_volume', 'make_case', 'medpy_metrics', 'median_time',
    'compare_with_medpy'
]

SPACING = (10.0, 1.5625, 1.5625)  # (sz, sx, sy) in mm, typical of ACDC


def cardiac_volume(shape: Tuple[int, int, int], centre: Tuple[float, float],
                   lv_radius: float, myo_thickness: float, rv_radius: float,
                   angle: float) -> np.ndarray:
    """A (D, H, W) uint8 label volume: 1 RV, 2 Myo, 3 LV, shrinking towards the
    apex."""
    d, h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    vol = np.zeros(shape, np.uint8)
    for k in range(d):
        taper = 1.0 - 0.6 * (k / max(d - 1, 1))**1.5  # base (k=0) to apex
        r_lv = lv_radius * taper
        cy, cx = centre
        dy, dx = yy - cy, xx - cx
        r = np.hypot(dy / 1.1, dx)  # slightly elliptic LV
        vol[k][r < r_lv + myo_thickness] = 2
        vol[k][r < r_lv] = 3
        if k < d - 2:  # the RV stops above the apex
            ry = cy + np.sin(angle) * (r_lv + rv_radius * 0.8)
            rx = cx + np.cos(angle) * (r_lv + rv_radius * 0.8)
            rv = np.hypot((yy - ry) / 0.7, xx - rx) < rv_radius * taper
            vol[k][rv & (vol[k] == 0)] = 1
    return vol


def make_case(rng: np.random.Generator,
              shape: Tuple[int, int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """A (prediction, reference) pair with realistic segmentation errors."""
    h, w = shape[1:]
    centre = (h / 2 + rng.uniform(-15, 15), w / 2 + rng.uniform(-15, 15))
    params = dict(
        lv_radius=rng.uniform(16, 24),
        myo_thickness=rng.uniform(5, 8),
        rv_radius=rng.uniform(18, 26),
        angle=rng.uniform(2.6, 3.6))
    gt = cardiac_volume(shape, centre, **params)
    jitter = dict(
        lv_radius=params['lv_radius'] * rng.uniform(0.9, 1.1),
        myo_thickness=params['myo_thickness'] + rng.uniform(-1.5, 1.5),
        rv_radius=params['rv_radius'] * rng.uniform(0.85, 1.1),
        angle=params['angle'] + rng.uniform(-0.15, 0.15))
    pred = cardiac_volume(
        shape,
        (centre[0] + rng.uniform(-2, 2), centre[1] + rng.uniform(-2, 2)),
        **jitter)
    # a small false-positive island near the heart, as networks produce
    k = int(rng.integers(0, shape[0]))
    y, x = int(centre[0] + rng.uniform(35, 50)), int(centre[1] +
                                                     rng.uniform(-30, 30))
    pred[k, y:y + 3, x:x + 4] = int(rng.integers(1, 4))
    return pred, gt


def medpy_metrics(pred: np.ndarray, gt: np.ndarray,
                  spacing) -> Dict[str, Dict[str, float]]:
    """medpy's dc, jc, hd95 and asd per ACDC class (the usual evaluation
    code)."""
    from medpy.metric import binary
    out = {}
    for name, value in ACDC_LABELS.items():
        p, g = pred == value, gt == value
        out[name] = {
            'dice': binary.dc(p, g),
            'jaccard': binary.jc(p, g),
            'hd95': binary.hd95(p, g, voxelspacing=spacing),
            'asd': binary.asd(p, g, voxelspacing=spacing)
        }
    return out


def median_time(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def compare_with_medpy(cases: int = 8,
                       repeats: int = 5,
                       shape: Tuple[int, int, int] = (10, 216, 256),
                       seed: int = 0) -> Dict[str, float]:
    """Time and check ``volume_metrics`` against medpy on ``cases`` volumes.

    Returns ``ours_s`` and ``medpy_s`` (median seconds per volume of the
    per-volume medians over ``repeats`` calls) and ``worst``, the largest
    ``|ours - medpy| / max(|medpy|, 1e-12)`` over classes and metrics.
    """
    rng = np.random.default_rng(seed)
    volumes = [make_case(rng, tuple(shape)) for _ in range(cases)]
    ours_t: List[float] = []
    medpy_t: List[float] = []
    worst = 0.0
    for pred, gt in volumes:
        ours = volume_metrics(pred, gt, SPACING)
        ref = medpy_metrics(pred, gt, SPACING)
        for name, values in ref.items():
            for key, expected in values.items():
                worst = max(
                    worst,
                    abs(ours[name][key] - expected) /
                    max(abs(expected), 1e-12))
        ours_t.append(
            median_time(lambda: volume_metrics(pred, gt, SPACING), repeats))
        medpy_t.append(
            median_time(lambda: medpy_metrics(pred, gt, SPACING), repeats))
    return dict(
        ours_s=statistics.median(ours_t),
        medpy_s=statistics.median(medpy_t),
        worst=worst)
