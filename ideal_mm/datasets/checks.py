"""Checks of voxel values read from any file: finite images, labels that are
class indices.

Each failure is a :class:`~ideal_mm.errors.DataError` naming the file.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

from ideal_mm.errors import DataError

#: Class names of ACDC by label value: 0 background, 1 RV, 2 Myo, 3 LV.
ACDC_CLASSES = ('background', 'RV', 'Myo', 'LV')


def check_image(arr: np.ndarray, path: str) -> np.ndarray:
    """Return ``arr`` as float32 after checking that it is finite."""
    arr = np.asarray(arr, dtype=np.float32)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = int(arr.size - np.count_nonzero(finite))
        raise DataError(
            f'{path}: {bad} voxel(s) are NaN or infinite; fix or replace '
            'the image (e.g. re-export it from the scanner data)')
    return arr


def _class_text(classes: Sequence[str]) -> str:
    return ', '.join(f'{i} {name}' for i, name in enumerate(classes))


def apply_label_map(arr: np.ndarray, label_map: Mapping[int, int],
                    path: str) -> np.ndarray:
    """Replace every value ``v`` of ``arr`` by ``label_map[v]`` (0 stays 0).

    Every non-zero value must be a key of ``label_map``; otherwise a
    DataError names the file and the values outside the map.
    """
    values, inverse = np.unique(arr, return_inverse=True)
    lut = {int(k): int(v) for k, v in label_map.items()}
    lut.setdefault(0, 0)
    bad = [int(v) for v in values if int(v) not in lut]
    if bad:
        raise DataError(
            f'{path}: label values {bad[:10]} are not in label_map '
            f'{dict(sorted(lut.items()))}; add them to label_map in the '
            'dataset config (e.g. label_map={...: 0} to drop a value) or fix '
            'the label file')
    mapped = np.asarray([lut[int(v)] for v in values], dtype=np.int64)
    return mapped[inverse].reshape(arr.shape)


def check_label(arr: np.ndarray,
                path: str,
                classes: Sequence[str] = ACDC_CLASSES,
                label_map: Optional[Mapping[int, int]] = None) -> np.ndarray:
    """Return ``arr`` as uint8 after checking its values are class indices.

    Values must be integers in ``0..len(classes) - 1`` (after ``label_map``
    when given, see :func:`apply_label_map`). The messages for ACDC (the
    default classes) are those of ACDC's label values.
    """
    acdc = tuple(classes) == ACDC_CLASSES and not label_map
    hint = ('0 (bg), 1 (RV), 2 (Myo), 3 (LV)'
            if acdc else f'0..{len(classes) - 1} ({_class_text(classes)})')
    arr = np.asarray(arr)
    if arr.dtype.kind == 'f':
        if not np.isfinite(arr).all():
            raise DataError(f'{path}: label map holds NaN/inf values; labels '
                            f'must be the integers {hint}')
        rounded = np.rint(arr)
        non_int = np.unique(arr[rounded != arr])
        if non_int.size:
            raise DataError(
                f'{path}: label map holds non-integer values '
                f'{non_int[:10].tolist()}; labels must be the integers {hint}')
        arr = rounded.astype(np.int64)
    if label_map:
        arr = apply_label_map(arr, label_map, path)
    values = np.unique(arr)
    num_classes = len(classes)
    bad = values[(values < 0) | (values >= num_classes)]
    if bad.size:
        if acdc:
            raise DataError(
                f'{path}: label values {bad[:10].tolist()} are outside 0..3; '
                'ACDC labels are 0 background, 1 RV, 2 Myo, 3 LV (remap or '
                'replace the label file)')
        raise DataError(
            f'{path}: label values {bad[:10].tolist()} are outside '
            f'0..{num_classes - 1} ({_class_text(classes)}); map them with '
            'label_map={raw_value: class_index, ...} in the dataset config, '
            'or fix the labels of dataset.json')
    if num_classes > 256:
        raise DataError(f'{path}: {num_classes} classes do not fit uint8 '
                        'label maps (at most 256)')
    return arr.astype(np.uint8)
