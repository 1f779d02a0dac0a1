"""Statistics for method comparisons: per-run summaries and paired bootstrap
CIs.

A comparison of two segmentation methods has two sources of noise: the
training run (seed) and the test cases. Each run is tested on the same
volumes, so differences are paired: ``d[s, v] = score_A[s, v] -
score_B[s, v]`` for seed s and volume v. :func:`paired_bootstrap` resamples
seeds and, independently, volumes with replacement (a two-level bootstrap), so
its interval covers both, and a method that wins on one lucky seed or on a few
easy volumes does not get a confident interval.
"""
from __future__ import annotations

import math
from typing import Dict, Mapping, Optional, Sequence

import numpy as np

from ..errors import DataError


def case_scores(summary: Mapping,
                metric: str = 'dice',
                classes: Optional[Sequence[str]] = None) -> Dict[str, float]:
    """Per-case mean of ``metric`` over the foreground classes.

    Args:
        summary: the ``summary.json`` of a test run (``cases`` list, each
            ``{'case': id, '<class>': {metric: value}}``).
        metric: e.g. ``'dice'`` or ``'hd95'``.
        classes: class names to average; default every class of the case.

    Returns:
        ``{case_id: mean over classes}`` (NaN values, e.g. HD95 of an empty
        prediction, are left out of the mean; a case with none is NaN).
    """
    if 'cases' not in summary:
        raise DataError('summary has no "cases" list; it must come from '
                        'tools/test.py (summary.json)')
    out = {}
    for case in summary['cases']:
        names = classes or [k for k, v in case.items() if isinstance(v, dict)]
        vals = [case[n].get(metric) for n in names if n in case]
        vals = [
            float(v) for v in vals
            if v is not None and not math.isnan(float(v))
        ]
        out[str(case['case'])] = float(np.mean(vals)) if vals else math.nan
    return out


def paired_bootstrap(a: np.ndarray,
                     b: np.ndarray,
                     num: int = 10000,
                     seed: int = 0,
                     level: float = 0.95) -> Dict[str, float]:
    """Mean paired difference ``mean(a - b)`` with a two-level bootstrap CI.

    Args:
        a, b: (S, V) scores of methods A and B for S seeds (runs) and V test
            volumes, row s of both from the same seed, column v the same
            volume.
        num: bootstrap replicates.
        seed: generator seed (the CI is reproducible).
        level: confidence level of the percentile interval.

    Returns:
        ``mean``, ``low``, ``high`` (percentile interval of the replicate
        means; each replicate draws S seeds and V volumes with replacement
        and averages ``a - b`` over that grid), ``p_below_zero`` (share of
        replicates with mean <= 0), ``seeds`` and ``volumes``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or min(a.shape) < 1:
        raise ValueError(f'a and b must be (seeds, volumes) arrays of one '
                         f'shape, got {a.shape} and {b.shape}')
    d = a - b
    s, v = d.shape
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, s, size=(num, s))
    cols = rng.integers(0, v, size=(num, v))
    # mean over the resampled grid = mean_i mean_j d[rows_i, cols_j]
    reps = d[rows[:, :, None], cols[:, None, :]].mean(axis=(1, 2))
    alpha = (1.0 - level) / 2
    return dict(
        mean=float(d.mean()),
        low=float(np.quantile(reps, alpha)),
        high=float(np.quantile(reps, 1 - alpha)),
        p_below_zero=float((reps <= 0).mean()),
        seeds=int(s),
        volumes=int(v))
