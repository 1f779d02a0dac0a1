"""Training / validation curves of runs from mmengine's scalar logs;
``tools/analysis/plot_curves.py`` is the command line.

mmengine's ``LocalVisBackend`` writes every logged scalar to
``<work_dir>/<timestamp>/vis_data/scalars.json``, one JSON object per line:
training lines hold ``loss``, ``lr``, ... with ``iter`` and ``step``;
validation lines hold the metrics (``mDice``, ``LV_HD95``, ...) with
``step`` = the iteration at which validation ran. Each key becomes one
panel (value vs. iteration) with one line per run, labelled by the work
dir's name. A resumed run has several timestamp folders: they are merged in
time order (a later folder's value wins at the same iteration), or only the
latest is read (``latest_only``). A key given as ``mDice`` also matches
prefixed keys such as ``val/mDice``.
"""
from __future__ import annotations

import glob
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from ideal_mm.atomic_files import atomic_path
from ideal_mm.errors import ConfigError, DataError

__all__ = [
    'scalar_files', 'read_scalars', 'match_key', 'series', 'run_labels',
    'read_runs', 'plot_curves'
]

Series = Tuple[List[float], List[float]]


def scalar_files(work_dir: str, latest_only: bool = False) -> List[str]:
    """``<work_dir>/<timestamp>/vis_data/scalars.json`` files in time order.

    A work dir that is itself a timestamp folder (holding ``vis_data``) is
    accepted too.
    """
    if not osp.isdir(work_dir):
        raise DataError(f'{work_dir}: work dir not found')
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    own = osp.join(work_dir, 'vis_data', 'scalars.json')
    if osp.isfile(own):
        files.append(own)
    if not files:
        raise DataError(
            f'{work_dir}: no <timestamp>/vis_data/scalars.json found; train '
            'with mmengine\'s LocalVisBackend (the default vis_backends) '
            'into this work dir first')
    return files[-1:] if latest_only else files


def read_scalars(files: Sequence[str]) -> Dict[str, Dict[float, float]]:
    """key -> {iteration: value}, later files winning at equal iterations.

    The iteration is a line's ``step`` (else ``iter``); lines without one,
    non-numeric values and broken lines (a run killed mid-write) are
    skipped.
    """
    curves: Dict[str, Dict[float, float]] = {}
    for file in files:
        with open(file, encoding='utf-8') as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(record, dict):
                    continue
                step = record.get('step', record.get('iter'))
                if not isinstance(step, (int, float)):
                    continue
                for key, value in record.items():
                    if key in ('step', 'iter', 'epoch') or isinstance(
                            value,
                            bool) or not isinstance(value, (int, float)):
                        continue
                    curves.setdefault(key, {})[float(step)] = float(value)
    return curves


def match_key(key: str, available: Sequence[str]) -> Optional[str]:
    """``key`` itself, else the one available key ending in ``/key``."""
    if key in available:
        return key
    suffixed = [k for k in available if k.endswith('/' + key)]
    return suffixed[0] if len(suffixed) == 1 else None


def series(curve: Dict[float, float]) -> Series:
    """Sorted (iterations, values) without NaN/inf values."""
    points = sorted((s, v) for s, v in curve.items() if math.isfinite(v))
    return [p[0] for p in points], [p[1] for p in points]


def run_labels(work_dirs: Sequence[str]) -> List[str]:
    """Work dir names; the parent is added where two names coincide."""
    names = [osp.basename(osp.normpath(w)) for w in work_dirs]
    out = []
    for w, name in zip(work_dirs, names):
        if names.count(name) > 1:
            parent = osp.basename(osp.dirname(osp.normpath(osp.abspath(w))))
            name = f'{parent}/{name}'
        out.append(name)
    return out


def plot_curves(runs: Dict[str, Dict[str, Dict[float, float]]],
                keys: Sequence[str],
                out_file: str,
                title: Optional[str] = None) -> Dict[str, Dict[str, Series]]:
    """Draw one panel per key, one line per run; save ``out_file``.

    Returns key -> run -> (iterations, values) as plotted. Raises
    ConfigError when a key is in no run (the message lists the keys that
    exist).
    """
    plotted: Dict[str, Dict[str, Series]] = {}
    for key in keys:
        plotted[key] = {}
        for run, curves in runs.items():
            found = match_key(key, list(curves))
            if found is not None:
                xs, ys = series(curves[found])
                if xs:
                    plotted[key][run] = (xs, ys)
        if not plotted[key]:
            available = sorted({k for c in runs.values() for k in c})
            raise ConfigError(
                f'--keys {key}: no run logged it; available keys: '
                f'{", ".join(available) or "(none)"}')

    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(
        1, len(keys), figsize=(5 * len(keys), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for run, (xs, ys) in plotted[key].items():
            ax.plot(
                xs,
                ys,
                marker='o' if len(xs) < 30 else None,
                markersize=3,
                label=run)
        ax.set_xlabel('iteration')
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    try:
        ext = osp.splitext(out_file)[1].lstrip('.') or 'png'
        with atomic_path(out_file) as tmp:
            fig.savefig(tmp, dpi=120, format=ext)
    finally:
        plt.close(fig)
    return plotted


def read_runs(
        work_dirs: Sequence[str],
        latest_only: bool = False) -> Dict[str, Dict[str, Dict[float, float]]]:
    """run label (:func:`run_labels`) -> its scalars (:func:`read_scalars`)."""
    return {
        label: read_scalars(scalar_files(work_dir, latest_only))
        for label, work_dir in zip(run_labels(work_dirs), work_dirs)
    }
