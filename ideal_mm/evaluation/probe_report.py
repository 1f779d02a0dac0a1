"""What the probes report: per-volume Dice of their predictions, and a text
table."""
from __future__ import annotations

import os.path as osp
from collections import defaultdict
from typing import Any, Dict, List, Mapping, Sequence, Tuple

import numpy as np

from ..errors import DataError
from .functional import volume_metrics
from .report import summarize


def volume_dice(preds: Sequence[np.ndarray], metas: Sequence[Mapping[str,
                                                                     Any]],
                class_names: Sequence[str]) -> Dict[str, Any]:
    """Per-volume Dice of slice predictions already on each slice's original
    grid.

    Slices are stacked per ``volume_id`` in ``slice_idx`` order (each of
    ``0..num_slices-1`` exactly once) and compared with the cached reference
    ``seg_map_path`` by :func:`volume_metrics`; class ``c`` is label value
    ``i + 1``. Returns ``{'mDice', 'per_class': {c: Dice}, 'cases': [{'case',
    c: Dice}], 'num_volumes'}``: means over volumes (NaN left out), mDice the
    mean over classes, as :func:`summarize`.
    """
    labels = {name: i + 1 for i, name in enumerate(class_names)}
    by_volume: Dict[str, List[Tuple[Mapping[str, Any],
                                    np.ndarray]]] = defaultdict(list)
    for pred, meta in zip(preds, metas):
        by_volume[str(meta['volume_id'])].append((meta, pred))
    cases = []
    for vid in sorted(by_volume):
        items = sorted(by_volume[vid], key=lambda t: int(t[0]['slice_idx']))
        num = int(items[0][0]['num_slices'])
        if [int(m['slice_idx']) for m, _ in items] != list(range(num)):
            raise DataError(
                f'volume {vid}: probe predictions must cover slices '
                f'0..{num - 1} exactly once; evaluate on whole volumes')
        path = items[0][0]['seg_map_path']
        if not path or not osp.isfile(path):
            raise DataError(
                f'reference label volume {path!r} of {vid} not found; the '
                'probe needs labelled evaluation volumes (rebuild the volume '
                'cache)')
        gt = np.load(path, mmap_mode='r')
        pred = np.stack([p for _, p in items])
        if pred.shape != gt.shape:
            raise DataError(
                f'volume {vid}: prediction {pred.shape} and reference {path} '
                f'{gt.shape} differ; ori_shape must be the slice grid')
        per_class = volume_metrics(pred, np.asarray(gt),
                                   items[0][0]['spacing'], labels)
        cases.append({'case': vid, **per_class})
    summary = summarize(cases, list(class_names))
    return {
        'mDice':
        float(summary['mean']['dice']),
        'per_class': {
            c: float(summary['per_class'][c]['dice'])
            for c in class_names
        },
        'cases': [{
            'case': c['case'],
            **{
                n: c[n]['dice']
                for n in class_names if n in c
            }
        } for c in summary['cases']],
        'num_volumes':
        len(cases),
    }


def format_probe_table(result: Mapping[str, Any]) -> str:
    """Dice per class and mean, one row per probe, as a text table."""
    names = list(result['class_names'])
    width = max([6] + [len(n) for n in names])
    head = f'{"probe":<8}' + ''.join(f' {n:>{width}}'
                                     for n in names) + f' {"mean":>{width}}'
    lines = [head, '-' * len(head)]
    for probe in ('linear', 'knn'):
        if probe not in result:
            continue
        r = result[probe]
        vals = [r['per_class'][n] for n in names] + [r['mDice']]
        lines.append(f'{probe:<8}' + ''.join(
            f' {v:>{width}.3f}' if v == v else f' {"n/a":>{width}}'
            for v in vals))
    return '\n'.join(lines)
