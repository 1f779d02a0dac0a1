"""Validation learning curves of a study: per arm, the mean over seeds of
the validation-split mean Dice against the iteration, the seed range
shaded, and the all-labels reference level; one PNG next to ``study.md``.

Every run validates on the validation split every ``train_cfg.val_interval``
iterations; mmengine's ``LocalVisBackend`` writes the metric (``mDice``) to
``<run>/<timestamp>/vis_data/scalars.json`` (read by
:mod:`ideal_mm.analysis.curves`). When a run finishes the study runner copies
that curve into ``<run>/val_curve.json`` (:func:`save_val_curve`), a small
file that can be committed with ``summary.json`` while the timestamped log
folders and checkpoints stay out of git. The test split is never read here.

New code because mmengine plots nothing and ``curves.plot_curves`` draws one
line per run, not a mean over seeds with its range.
"""
from __future__ import annotations

import json
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np

from ideal_mm.atomic_files import atomic_path, atomic_write_text
from ideal_mm.errors import DataError
from .curves import match_key, read_scalars, scalar_files, series
from .study_spec import Study, budget_name

__all__ = [
    'VAL_CURVE', 'VAL_KEY', 'save_val_curve', 'run_curve', 'arm_curves',
    'mean_band', 'plot_study_curves'
]

#: the committed copy of a finished run's validation curve
VAL_CURVE = 'val_curve.json'
#: the metric ACDCVolumeMetric logs on validation (mean Dice over classes)
VAL_KEY = 'mDice'

Curve = Tuple[List[float], List[float]]


def _scalars_curve(run_dir: str, key: str) -> Optional[Curve]:
    """``key`` vs iteration from a run's scalars files (None if absent)."""
    try:
        files = scalar_files(run_dir)
    except DataError:
        return None
    scalars = read_scalars(files)
    found = match_key(key, list(scalars))
    if found is None:
        return None
    xs, ys = series(scalars[found])
    return (xs, ys) if xs else None


def save_val_curve(run_dir: str, key: str = VAL_KEY) -> Optional[str]:
    """Write ``<run_dir>/val_curve.json`` (``key``, ``iters``, ``values``)
    from the run's scalars; returns its path, None when nothing was
    logged."""
    curve = _scalars_curve(run_dir, key)
    if curve is None:
        return None
    path = osp.join(run_dir, VAL_CURVE)
    atomic_write_text(
        path,
        json.dumps(dict(key=key, iters=curve[0], values=curve[1])) + '\n')
    return path


def run_curve(run_dir: str, key: str = VAL_KEY) -> Optional[Curve]:
    """A run's validation curve: ``val_curve.json`` when it exists (and
    holds ``key``), else the scalars files; None without either."""
    path = osp.join(run_dir, VAL_CURVE)
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            saved = json.load(f)
        if saved.get('key') == key:
            return list(map(float, saved['iters'])), \
                list(map(float, saved['values']))
    return _scalars_curve(run_dir, key)


def arm_curves(study: Study,
               budget: str,
               key: str = VAL_KEY) -> Dict[str, Dict[int, Curve]]:
    """{method: {seed: curve}} of the finished runs (``summary.json``
    written) at budget name ``budget``; methods without one are left out."""
    out: Dict[str, Dict[int, Curve]] = {}
    for method in study.methods:
        for b in study.budgets(method):
            if budget_name(b) != budget:
                continue
            for seed in study.spec.seeds:
                wd = study.run_dir(method, b, seed)
                if not osp.isfile(osp.join(wd, 'summary.json')):
                    continue
                curve = run_curve(wd, key)
                if curve is not None:
                    out.setdefault(method, {})[int(seed)] = curve
    return out


def mean_band(curves: Dict[int, Curve]) -> Tuple[np.ndarray, ...]:
    """(iterations, mean, min, max) over seeds at the iterations every seed
    logged (a resumed run may log an iteration twice: the last value is
    kept by the reader)."""
    if not curves:
        raise ValueError('mean_band needs at least one curve')
    common = set.intersection(*(set(xs) for xs, _ in curves.values()))
    xs = np.array(sorted(common))
    rows = np.array([[dict(zip(cx, cy))[x] for x in xs]
                     for cx, cy in curves.values()])
    return xs, rows.mean(0), rows.min(0), rows.max(0)


def plot_study_curves(study: Study,
                      out_file: str,
                      budgets: List[str],
                      reference: Optional[str] = None,
                      key: str = VAL_KEY) -> Dict[str, dict]:
    """One panel per budget: every arm's mean validation curve over seeds
    with the seed range shaded; ``reference`` (a method, e.g. supervised
    with all labels) is drawn as a dashed level at the mean of its seeds'
    last validation values. Saves ``out_file`` (PNG) and returns
    {budget: {method: (xs, mean, lo, hi, seeds)}}; nothing is drawn (and
    {} returned) when no finished run logged ``key``."""
    drawn: Dict[str, dict] = {}
    level = None
    if reference is not None:
        ref = {}
        for b in study.budgets(reference):
            ref.update(
                arm_curves(study, budget_name(b), key).get(reference, {}))
        if ref:
            level = float(np.mean([ys[-1] for _, ys in ref.values()]))
    for budget in budgets:
        arms = arm_curves(study, budget, key)
        arms.pop(reference, None)
        if arms:
            drawn[budget] = {
                m: (*mean_band(c), sorted(c))
                for m, c in arms.items()
            }
    if not drawn:
        return {}
    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(
        1, len(drawn), figsize=(6.5 * len(drawn), 4.5), squeeze=False)
    for ax, (budget, arms) in zip(axes[0], drawn.items()):
        for method, (xs, mean, lo, hi, seeds) in arms.items():
            line, = ax.plot(xs, mean, label=f'{method} (n={len(seeds)})')
            ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.2)
        if level is not None:
            ax.axhline(
                level, color='k', ls='--', lw=1, label=f'{reference} (final)')
        ax.set_xlabel('iteration')
        ax.set_ylabel(f'validation {key}')
        ax.set_title(f'{study.name}, {budget}: mean over seeds, range '
                     'shaded')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    try:
        with atomic_path(out_file) as tmp:
            fig.savefig(tmp, dpi=110, format='png')
    finally:
        plt.close(fig)
    return drawn
