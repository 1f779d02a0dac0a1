"""Summaries and reports of per-volume metrics, shared by ACDCVolumeMetric and
tools/evaluate.py.

A *case* is
``{'case': name, <class>: {'dice', 'jaccard', 'hd95', 'asd', 'assd'}, ...}``
as :func:`ideal_mm.evaluation.functional.volume_metrics` returns per class.
:func:`summarize` turns a list of cases into the summary JSON form::

    {"per_class": {"RV": {"dice": m, "jaccard": m, "hd95": m, "asd": m,
                          "assd": m}, ...},
     "mean": {"dice": m, ...},
     "cases": [{"case": "patient001_frame01", "RV": {...}, "Myo": {...},
                "LV": {...}}, ...],
     "counts": {"RV": {"num_cases": n, "n_empty_both": n,
                       "n_one_empty": n}, ...},
     "num_cases": n}

Dice and Jaccard are fractions in [0, 1], distances in mm; NaN (undefined:
an empty mask) is left out of every mean and written as ``null``.
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ideal_mm.atomic_files import atomic_write_text
from .functional import METRIC_NAMES

__all__ = [
    'DISPLAY_NAMES', 'format_table', 'nan_to_none', 'summarize', 'write_json',
    'write_per_case_csv'
]

#: Column titles of the metrics, in :data:`METRIC_NAMES` order.
DISPLAY_NAMES: Mapping[str, str] = {
    'dice': 'Dice',
    'jaccard': 'Jaccard',
    'hd95': 'HD95 (mm)',
    'asd': 'ASD (mm)',
    'assd': 'ASSD (mm)'
}


def _nanmean(values: Sequence[float]) -> float:
    """Mean of the finite values; NaN when there are none."""
    finite = [
        float(v) for v in values if v is not None and not math.isnan(float(v))
    ]
    return math.fsum(finite) / len(finite) if finite else float('nan')


def _class_names(cases: Sequence[Mapping[str, Any]]) -> List[str]:
    """Class names in first-seen order (every key of a case except
    ``'case'``)."""
    names: List[str] = []
    for case in cases:
        for key, value in case.items():
            if key != 'case' and isinstance(value,
                                            Mapping) and key not in names:
                names.append(key)
    return names


def summarize(cases: List[Dict[str, Any]],
              class_names: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Summary JSON form (module docstring) of per-case metrics.

    ``class_names`` fixes the classes and their order (default: as found in
    ``cases``).

    ``per_class[c][m] = mean over cases of m`` (NaN excluded); ``mean[m] = mean
    over classes of per_class[c][m]`` (NaN excluded). ``counts[c]`` holds
    ``num_cases``, ``n_empty_both`` (Dice NaN: class in neither map) and
    ``n_one_empty`` (class in only one map: Dice 0, distances NaN).
    """
    names = list(class_names) if class_names is not None else _class_names(
        cases)
    per_class: Dict[str, Dict[str, float]] = {}
    counts: Dict[str, Dict[str, int]] = {}
    for name in names:
        rows = [case[name] for case in cases if name in case]
        per_class[name] = {
            m: _nanmean([row.get(m) for row in rows])
            for m in METRIC_NAMES
        }
        both = sum(1 for row in rows if _isnan(row.get('dice')))
        one = sum(1 for row in rows
                  if not _isnan(row.get('dice')) and _isnan(row.get('hd95')))
        counts[name] = {
            'num_cases': len(rows),
            'n_empty_both': both,
            'n_one_empty': one
        }
    mean = {
        m: _nanmean([per_class[n][m] for n in names])
        for m in METRIC_NAMES
    }
    ordered_cases = []
    for case in cases:
        row: Dict[str, Any] = {'case': str(case['case'])}
        for name in names:
            if name in case:
                row[name] = {m: float(case[name][m]) for m in METRIC_NAMES}
        ordered_cases.append(row)
    return {
        'per_class': per_class,
        'mean': mean,
        'cases': ordered_cases,
        'counts': counts,
        'num_cases': len(cases),
    }


def _isnan(value: Any) -> bool:
    """True for None or a float NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def nan_to_none(obj: Any) -> Any:
    """Copy of ``obj`` with every NaN/inf float replaced by None and numpy
    scalars made Python."""
    if isinstance(obj, Mapping):
        return {str(k): nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [nan_to_none(v) for v in obj]
    if hasattr(obj, 'item') and callable(obj.item) and getattr(obj, 'ndim',
                                                               1) == 0:
        obj = obj.item()  # numpy scalar
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path: str, obj: Any) -> None:
    """Write ``obj`` as indented JSON, NaN as null, atomically (temporary file
    + os.replace)."""
    text = json.dumps(nan_to_none(obj), indent=2, allow_nan=False) + '\n'
    atomic_write_text(path, text)


def write_per_case_csv(path: str, cases: List[Dict[str, Any]]) -> None:
    """Write one row per case and class
    (``case,class,dice,jaccard,hd95,asd,assd``) atomically.

    NaN is written as an empty field.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(['case', 'class', *METRIC_NAMES])
    names = _class_names(cases)
    for case in cases:
        for name in names:
            if name not in case:
                continue
            values = [case[name].get(m) for m in METRIC_NAMES]
            writer.writerow([
                case['case'], name,
                *('' if _isnan(v) else repr(float(v)) for v in values)
            ])
    atomic_write_text(path, buf.getvalue())


def format_table(summary: Mapping[str, Any]) -> str:
    """A plain-text table of a :func:`summarize` result.

    Rows: each class, then the mean; columns: Dice, Jaccard, HD95, ASD, ASSD.

    Dice and Jaccard are shown as fractions (4 decimals), distances in mm (2
    decimals); ``-`` marks an undefined value. A last column gives how many
    cases had the class in neither map / in only one map when there were any.
    """
    names = list(summary['per_class'])
    cols = [DISPLAY_NAMES[m] for m in METRIC_NAMES]
    counts = summary.get('counts', {})

    def fmt(metric: str, value: Any) -> str:
        if _isnan(value):
            return '-'
        return f'{value:.4f}' if metric in ('dice',
                                            'jaccard') else f'{value:.2f}'

    rows = []
    for name in names:
        c = counts.get(name, {})
        note = ''
        if c.get('n_empty_both') or c.get('n_one_empty'):
            note = f"{c.get('n_empty_both', 0)}/{c.get('n_one_empty', 0)}"
        rows.append([
            name, *(fmt(m, summary['per_class'][name][m])
                    for m in METRIC_NAMES), note
        ])
    rows.append(
        ['mean', *(fmt(m, summary['mean'][m]) for m in METRIC_NAMES), ''])
    header = ['Class', *cols]
    show_note = any(r[-1] for r in rows)
    if show_note:
        header.append('empty both/one')
    else:
        rows = [r[:-1] for r in rows]
    widths = [
        max(len(str(r[i])) for r in [header, *rows])
        for i in range(len(header))
    ]
    line = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'

    def render(cells: Sequence[str]) -> str:
        return '| ' + ' | '.join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths))) + ' |'

    out = [
        line,
        render(header), line, *(render(r) for r in rows[:-1]), line,
        render(rows[-1]), line
    ]
    n = summary.get('num_cases')
    if n is not None:
        out.append(
            f'{n} volume(s); Dice and Jaccard as fractions, distances in mm.')
    return '\n'.join(out)
