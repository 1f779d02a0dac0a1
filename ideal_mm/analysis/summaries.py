"""Results tables (methods x label budgets) from the ``summary.json`` of
tested work dirs; ``tools/analysis/summarize.py`` is the command line.

Each work dir is a run tested with ``tools/test.py CONFIG CKPT --work-dir
WORK_DIR`` (``WORK_DIR/summary.json``: ``{"per_class": {...}, "mean": {...},
"cases": [...]}``). Cells are ``Dice / HD95 / ASD`` (means over RV, Myo and
LV; HD95 and ASD in mm) averaged over the runs (seeds) of one method and
budget, each followed by the sample standard deviation and the count:
``0.832±0.015 / 12.76±1.20 / 3.47±0.30 (n=3)``.

Method and label budget of a run, first found wins:

1. ``WORK_DIR/run_info.json``: ``{"method": "IDEAL", "label_budget": 3}``
   (either key may be left out);
2. the work dir name, when it follows the config naming convention
   ``<method>_<N>xb<B>-<schedule>_<dataset>-<budget>``, e.g.
   ``ideal_unet_1xb24-30k_acdc-3pat`` -> method ``ideal_unet``, 3 patients;
   ``supervised_unet_1xb24-30k_acdc-1.25pct`` -> 1.25 %;
3. the config mmengine dumps into the work dir (``WORK_DIR/<config>.py``):
   a top-level ``method`` string if present, else the model type
   (``BiConsistencySemiSupModel``, ``EncoderDecoder``, ...; with
   `` + pre-trained encoder`` when a ``Pretrained`` init_cfg is set), and
   ``label_budget`` (top level or ``train_dataloader.dataset``).

A budget that is an int counts labelled patients; a float in (0, 1] is a
fraction of the training patients (shown in %).
"""
from __future__ import annotations

import glob
import json
import math
import os.path as osp
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ideal_mm.errors import DataError

__all__ = [
    'Budget', 'parse_budget', 'run_info', 'load_summary', 'build_tables',
    'summarize_work_dirs', 'METRIC_TITLES'
]

NAME_RE = re.compile(
    r'^(?P<method>.+?)_\d+xb\d+-[^_]+_[^_]+?-(?P<budget>[\d.]+(?:pat|pct))$')
BUDGET_RE = re.compile(r'(?:^|[-_])(?P<budget>[\d.]+(?:pat|pct))(?:$|[-_])')
METRIC_TITLES = {
    'dice': 'Dice',
    'jaccard': 'Jaccard',
    'hd95': 'HD95',
    'asd': 'ASD',
    'assd': 'ASSD'
}
CLASSES = ('RV', 'Myo', 'LV')


@dataclass(frozen=True)
class Budget:
    """A label budget: ``kind`` 'pat' (patients) or 'pct' (percent)."""

    kind: str
    value: float

    @property
    def label(self) -> str:
        """``'3 pat'`` or ``'1.25%'``."""
        if self.kind == 'pat':
            return f'{int(self.value)} pat'
        if self.kind == 'pct':
            return f'{self.value:g}%'
        return 'unknown'

    @property
    def sort_key(self) -> Tuple[int, float]:
        """Patients before percentages, then by value."""
        return (0 if self.kind == 'pat' else 1, self.value)


UNKNOWN_BUDGET = Budget('unknown', math.inf)


def parse_budget(value: Any) -> Optional[Budget]:
    """Budget from ``3``, ``0.0125``, ``1.0``, ``'3pat'`` or ``'1.25pct'``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        match = re.fullmatch(r'([\d.]+)(pat|pct)', value.strip())
        if match:
            return Budget(match.group(2), float(match.group(1)))
        try:
            value = float(value) if '.' in value else int(value)
        except ValueError:
            return None
    if isinstance(value, int):
        return Budget('pat', float(value))
    if isinstance(value, float) and 0 < value <= 1:
        return Budget('pct', round(value * 100, 6))
    return None


def _config_dumps(work_dir: str) -> List[str]:
    """Config copies mmengine writes: ``<work_dir>/*.py``, then the
    ``<timestamp>/vis_data/config.py`` ones (latest first)."""
    files = sorted(glob.glob(osp.join(work_dir, '*.py')))
    files += sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'config.py')),
        reverse=True)
    return files


def _find_budget_in_cfg(cfg: Any) -> Any:
    """``label_budget`` at the top level or in the labelled train dataset."""
    if 'label_budget' in cfg:
        return cfg['label_budget']
    loader = cfg.get('train_dataloader') or {}
    stack = [loader.get('dataset')]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get('subset') != 'unlabelled' and 'label_budget' in item:
                return item['label_budget']
            stack.extend(item.get('datasets') or [])
            stack.append(item.get('dataset'))
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return None


def _has_pretrained(obj: Any) -> bool:
    """True when any ``init_cfg`` below ``obj`` is of type Pretrained."""
    # imported here: ideal_mm.engine imports torch and mmseg, which
    # tools/analysis/summarize.py --help must not wait for
    from ideal_mm.engine.config_walk import iter_init_cfgs
    return any(
        cfg.get('type') == 'Pretrained' for _, cfg in iter_init_cfgs(obj))


def info_from_config(work_dir: str) -> Tuple[Optional[str], Optional[Budget]]:
    """(method, budget) from a config dumped in the work dir."""
    from mmengine.config import Config
    for file in _config_dumps(work_dir):
        try:
            cfg = Config.fromfile(file)
        except Exception:  # noqa: BLE001 - a dump we cannot read: try next
            continue
        method = cfg.get('method')
        if not isinstance(method, str):
            model = cfg.get('model') or {}
            method = model.get('type') if isinstance(model, dict) else None
            if method and _has_pretrained(model):
                method += ' + pre-trained encoder'
        return method, parse_budget(_find_budget_in_cfg(cfg))
    return None, None


def run_info(work_dir: str) -> Tuple[str, Budget]:
    """(method, budget) of a run (conventions in the module docstring)."""
    method: Optional[str] = None
    budget: Optional[Budget] = None
    info_file = osp.join(work_dir, 'run_info.json')
    if osp.isfile(info_file):
        try:
            with open(info_file, encoding='utf-8') as f:
                info = json.load(f)
        except ValueError as err:
            raise DataError(f'{info_file}: not valid JSON ({err})') from err
        method = info.get('method')
        budget = parse_budget(info.get('label_budget'))
    name = osp.basename(osp.normpath(work_dir))
    match = NAME_RE.match(name)
    if match:
        method = method or match.group('method')
        budget = budget or parse_budget(match.group('budget'))
    elif budget is None:
        found = BUDGET_RE.search(name)
        if found:
            budget = parse_budget(found.group('budget'))
    if method is None or budget is None:
        cfg_method, cfg_budget = info_from_config(work_dir)
        method = method or cfg_method
        budget = budget or cfg_budget
    return method or name, budget or UNKNOWN_BUDGET


def load_summary(work_dir: str) -> Dict[str, Any]:
    """``<work_dir>/summary.json`` as written by tools/test.py."""
    path = osp.join(work_dir, 'summary.json')
    if not osp.isfile(path):
        hint = ''
        if osp.isfile(osp.join(work_dir, 'val', 'summary.json')):
            hint = ' (only the validation summary val/summary.json exists)'
        raise DataError(
            f'{path}: not found{hint}; test the run first: python '
            f'tools/test.py CONFIG CHECKPOINT --work-dir {work_dir}')
    try:
        with open(path, encoding='utf-8') as f:
            summary = json.load(f)
    except ValueError as err:
        raise DataError(f'{path}: not valid JSON ({err})') from err
    if not isinstance(summary, dict) or 'mean' not in summary:
        raise DataError(f'{path}: no "mean" entry; expected the summary '
                        'written by tools/test.py')
    return summary


def _mean(values: Sequence[Optional[float]]) -> float:
    finite = [
        float(v) for v in values if v is not None and math.isfinite(float(v))
    ]
    return sum(finite) / len(finite) if finite else math.nan


def _std(values: Sequence[Optional[float]]) -> float:
    """Sample standard deviation (n - 1) of the finite values."""
    finite = [
        float(v) for v in values if v is not None and math.isfinite(float(v))
    ]
    if len(finite) < 2:
        return math.nan
    mean = sum(finite) / len(finite)
    return math.sqrt(sum((v - mean)**2 for v in finite) / (len(finite) - 1))


def _fmt(value: float, metric: str) -> str:
    """Three decimals for overlaps, two for distances; ``-`` for NaN."""
    if not math.isfinite(value):
        return '-'
    return f'{value:.3f}' if metric in ('dice', 'jaccard') else f'{value:.2f}'


def _cell(summaries: List[Dict[str, Any]],
          metrics: Sequence[str],
          cls: Optional[str] = None) -> str:
    """``mean±std / ... (n=N)`` of the runs (mean over classes, or ``cls``)."""
    parts = []
    for metric in metrics:
        if cls is None:
            values = [s['mean'].get(metric) for s in summaries]
        else:
            values = [
                s.get('per_class', {}).get(cls, {}).get(metric)
                for s in summaries
            ]
        text = _fmt(_mean(values), metric)
        spread = _std(values)
        if len(summaries) > 1 and math.isfinite(spread):
            text += '±' + _fmt(spread, metric)
        parts.append(text)
    cell = ' / '.join(parts)
    if len(summaries) > 1:
        cell += f' (n={len(summaries)})'
    return cell


def build_tables(
    runs: List[Tuple[str, Budget, Dict[str, Any]]],
    metrics: Sequence[str] = ('dice', 'hd95', 'asd')
) -> str:
    """Markdown: the methods x budgets table and the per-class table."""
    groups: Dict[Tuple[str, Budget], List[Dict[str, Any]]] = {}
    for method, budget, summary in runs:
        groups.setdefault((method, budget), []).append(summary)
    methods = list(dict.fromkeys(m for m, _, _ in runs))
    budgets = sorted({b for _, b, _ in runs}, key=lambda b: b.sort_key)
    title = ' / '.join(METRIC_TITLES.get(m, m) for m in metrics)
    lines = [
        f'Mean over RV, Myo and LV per 3D volume: {title} '
        '(Dice in [0, 1], distances in mm).', '',
        '| Method | ' + ' | '.join(b.label for b in budgets) + ' |',
        '|---|' + '---|' * len(budgets)
    ]
    for method in methods:
        cells = [
            _cell(groups[(method, b)], metrics) if
            (method, b) in groups else '' for b in budgets
        ]
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    classes = [
        c for c in CLASSES if any(
            c in s.get('per_class', {}) for _, _, s in runs)
    ]
    lines += [
        '', f'Per class: {title}.', '',
        '| Method | Labels | ' + ' | '.join(classes) + ' |',
        '|---|---|' + '---|' * len(classes)
    ]
    for method in methods:
        for budget in budgets:
            if (method, budget) not in groups:
                continue
            cells = [
                _cell(groups[(method, budget)], metrics, c) for c in classes
            ]
            lines.append(f'| {method} | {budget.label} | ' +
                         ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def summarize_work_dirs(
    work_dirs: Sequence[str], metrics: Sequence[str] = ('dice', 'hd95', 'asd')
) -> str:
    """The Markdown tables of :func:`build_tables` over tested work dirs;
    :class:`DataError` for a missing work dir or summary."""
    runs = []
    for work_dir in work_dirs:
        if not osp.isdir(work_dir):
            raise DataError(f'{work_dir}: work dir not found')
        summary = load_summary(work_dir)
        method, budget = run_info(work_dir)
        runs.append((method, budget, summary))
    return build_tables(runs, metrics)
