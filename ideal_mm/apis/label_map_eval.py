"""Evaluating NIfTI label maps against ground-truth files: per-volume Dice,
Jaccard, HD95, ASD and ASSD
(:func:`ideal_mm.evaluation.functional.volume_metrics`) of every prediction in
a folder; ``tools/evaluate.py`` is its command line.

``P/NAME.nii.gz`` (or ``P/NAME_pred.nii.gz``) is compared with
``G/NAME_gt.nii.gz`` or ``G/NAME.nii.gz`` (``.nii`` works too). Distances are
in mm from the ground truth's header zooms; the arrays are used in NIfTI
(X, Y, Z) order with spacing (sx, sy, sz), which gives the same values as the
(D, H, W) order of ideal_mm.
"""
from __future__ import annotations

import os
from typing import (Any, Dict, Iterable, List, Mapping, Optional, Sequence,
                    Tuple)

import numpy as np

from ideal_mm.errors import ConfigError, DataError
from ideal_mm.evaluation.functional import ACDC_LABELS, volume_metrics
from ideal_mm.nifti_names import NIFTI_EXTS, is_nifti, nifti_stem

__all__ = ['parse_labels', 'find_pairs', 'load_label_map', 'evaluate_pairs']


def parse_labels(items: Optional[Sequence[str]]) -> Dict[str, int]:
    """Parse ``NAME=VALUE`` items into a class -> label mapping (default: ACDC
    RV=1 Myo=2 LV=3)."""
    if not items:
        return dict(ACDC_LABELS)
    labels: Dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition('=')
        if not sep or not name or not value.strip().isdigit(
        ) or not 1 <= int(value) <= 255:
            raise ConfigError(
                f'--labels: {item!r} is not NAME=VALUE with an integer VALUE '
                'in 1..255 (0 is background), e.g. --labels RV=1 Myo=2 LV=3')
        if name in labels or int(value) in labels.values():
            raise ConfigError(
                f'--labels: {item!r} repeats a class name or value')
        labels[name] = int(value)
    return labels


def find_pairs(pred_dir: str, gt_dir: str) -> List[Tuple[str, str, str]]:
    """``(name, prediction path, ground-truth path)`` for every prediction,
    sorted by name.

    Raises DataError for a missing folder, no prediction files, or predictions
    without ground truth (listing their names).
    """
    for flag, folder in (('--pred-dir', pred_dir), ('--gt-dir', gt_dir)):
        if not os.path.isdir(folder):
            raise DataError(
                f'{flag} {folder} is not a folder; pass the folder that holds '
                'the NIfTI files (.nii.gz)')
    preds: Dict[str, str] = {}
    for filename in sorted(os.listdir(pred_dir)):
        stem = nifti_stem(filename) if is_nifti(filename) else ''
        if not stem or not os.path.isfile(os.path.join(pred_dir, filename)):
            continue
        name = stem[:-len('_pred')] if stem.endswith('_pred') and len(
            stem) > 5 else stem
        if name in preds:
            raise DataError(
                f'{pred_dir} holds two predictions for {name}: '
                f'{os.path.basename(preds[name])} and {filename}; keep one')
        preds[name] = os.path.join(pred_dir, filename)
    if not preds:
        raise DataError(
            f'no NIfTI predictions (NAME.nii.gz) found in {pred_dir}')
    pairs, orphans = [], []
    for name, pred_path in sorted(preds.items()):
        candidates = [
            os.path.join(gt_dir, f'{name}{suffix}{ext}')
            for suffix in ('_gt', '') for ext in NIFTI_EXTS
        ]
        gt_path = next((c for c in candidates if os.path.isfile(c)), None)
        if gt_path is None:
            orphans.append(name)
        else:
            pairs.append((name, pred_path, gt_path))
    if orphans:
        more = f' and {len(orphans) - 10} more' if len(orphans) > 10 else ''
        shown = ', '.join(orphans[:10]) + more
        raise DataError(
            f'no ground truth in {gt_dir} for {len(orphans)} prediction(s): '
            f'{shown}; expected NAME_gt.nii.gz or NAME.nii.gz')
    return pairs


def load_label_map(
        path: str,
        allowed: Sequence[int]) -> Tuple[np.ndarray, Tuple[float, ...]]:
    """Load a NIfTI label map as uint8 with its zooms, checking its values are
    in ``allowed``."""
    import nibabel as nib
    try:
        img = nib.load(path)
        data = np.asanyarray(img.dataobj)
        zooms = tuple(float(z) for z in img.header.get_zooms()[:data.ndim])
    except Exception as err:  # nibabel raises many types for corrupt files
        raise DataError(
            f'cannot read NIfTI file {path} ({type(err).__name__}: {err}); '
            're-export it or remove it from the folder') from err
    values = np.unique(data)
    bad = [v for v in values.tolist() if v not in allowed]
    if bad:
        shown = ', '.join(f'{v:g}' for v in bad[:8])
        raise DataError(
            f'{path} holds label values {shown} outside {sorted(allowed)}; '
            'pass the right --labels NAME=VALUE (0 is background)')
    return data.astype(np.uint8), zooms


def evaluate_pairs(pairs: Iterable[Tuple[str, str, str]],
                   labels: Mapping[str, int]) -> List[Dict[str, Any]]:
    """One ``{'case': name, <class>: {metric: value}}`` per (name, prediction,
    ground truth) pair; a prediction off the ground-truth grid raises
    :class:`DataError`."""
    allowed = [0, *labels.values()]
    cases = []
    for name, pred_path, gt_path in pairs:
        gt, zooms = load_label_map(gt_path, allowed)
        pred, _ = load_label_map(pred_path, allowed)
        if pred.shape != gt.shape:
            raise DataError(
                f'{pred_path} has shape {pred.shape} but its ground truth '
                f'{gt_path} has shape {gt.shape}; predictions must be on the '
                'ground-truth grid')
        cases.append({
            'case': name,
            **volume_metrics(pred, gt, zooms, dict(labels))
        })
    return cases
