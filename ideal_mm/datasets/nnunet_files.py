"""What an nnU-Net v2 or Decathlon folder holds: its ``dataset.json`` and image
names.

Layouts in :mod:`ideal_mm.datasets.nnunet`; every problem is a
:class:`~ideal_mm.errors.DataError` naming the file and the key.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ideal_mm.errors import DataError

NIFTI_ENDINGS = ('.nii.gz', '.nii')
CHANNEL_RE = re.compile(r'^(?P<case>.+)_(?P<channel>\d{4})$')


@dataclass
class DatasetDescription:
    """What a ``dataset.json`` says: classes, channels, file ending, lists."""

    path: str
    layout: str  # 'nnunet' or 'msd'
    classes: Tuple[str, ...]
    channel_names: Tuple[str, ...]
    file_ending: str = '.nii.gz'
    training: List[Dict[str, str]] = field(default_factory=list)
    test: List[str] = field(default_factory=list)

    @property
    def labels(self) -> Dict[str, int]:
        """Foreground class name -> label value (for metrics)."""
        return {name: i for i, name in enumerate(self.classes) if i > 0}


def _dataset_json_path(path: str) -> str:
    if os.path.isdir(path):
        path = os.path.join(path, 'dataset.json')
    return path


def read_dataset_json(path: str) -> DatasetDescription:
    """Read and check an nnU-Net v2 or MSD ``dataset.json`` (file or folder).

    The layout is recognised by its keys (``channel_names`` -> nnU-Net,
    ``modality`` -> MSD). Raises DataError naming the file and the key for a
    missing file, invalid JSON, missing ``labels``, region labels, label
    values that are not 0..N-1 with 0 the background, or a missing channel
    list.
    """
    path = _dataset_json_path(path)
    if not os.path.isfile(path):
        raise DataError(
            f'{path}: dataset.json not found; an nnU-Net / Decathlon data set '
            'needs one with "labels" and "channel_names" (nnU-Net) or '
            '"modality" (MSD) - see docs/datasets.md')
    # the read-JSON-or-DataError shape of splits.py too: two files, two
    # messages
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise DataError(f'{path}: not valid JSON ({err}); fix the file') \
            from err
    if not isinstance(data, dict):
        raise DataError(f'{path}: expected a JSON object')
    labels = data.get('labels')
    if not isinstance(labels, dict) or not labels:
        raise DataError(
            f'{path}: key "labels" is missing or empty; add the classes, e.g. '
            '"labels": {"background": 0, "LV": 1} (nnU-Net) or '
            '{"0": "background", "1": "LV"} (MSD)')
    if 'channel_names' in data:
        layout, channels_key = 'nnunet', 'channel_names'
        by_value: Dict[int, str] = {}
        for name, value in labels.items():
            if isinstance(value, (list, tuple)) or isinstance(value, bool) \
                    or not isinstance(value, int):
                raise DataError(
                    f'{path}: "labels"."{name}" = {value!r} is not one '
                    'integer label value (region-based labels are not '
                    'supported); give each class its own value')
            if value in by_value:
                raise DataError(f'{path}: "labels": value {value} is used by '
                                f'"{by_value[value]}" and "{name}"')
            by_value[value] = str(name)
    elif 'modality' in data:
        layout, channels_key = 'msd', 'modality'
        by_value = {}
        for key, name in labels.items():
            try:
                value = int(key)
            except (TypeError, ValueError):
                raise DataError(
                    f'{path}: "labels" key {key!r} is not a label value; the '
                    'Decathlon format maps values to names, e.g. '
                    '{"0": "background", "1": "LV"}') from None
            by_value[value] = str(name)
    else:
        raise DataError(
            f'{path}: neither "channel_names" (nnU-Net v2) nor "modality" '
            '(Decathlon) is present; add the image channels, e.g. '
            '"channel_names": {"0": "CT"}')
    values = sorted(by_value)
    if values != list(range(len(values))):
        raise DataError(
            f'{path}: "labels" values {values} must be 0, 1, ..., N-1 (0 the '
            'background); renumber them and map the label files with '
            'label_map={raw: index} in the dataset config')
    classes = tuple(by_value[v] for v in values)
    if len(set(classes)) != len(classes):
        raise DataError(f'{path}: "labels" repeats a class name {classes}')
    channels = data.get(channels_key)
    if not isinstance(channels, dict) or not channels:
        raise DataError(f'{path}: "{channels_key}" must be a non-empty object '
                        '{"0": "CT", ...}')
    try:
        order = sorted(channels, key=lambda k: int(k))
    except (TypeError, ValueError):
        raise DataError(f'{path}: "{channels_key}" keys must be channel '
                        f'numbers "0", "1", ...; got {sorted(channels)}') \
            from None
    if [int(k) for k in order] != list(range(len(order))):
        raise DataError(f'{path}: "{channels_key}" keys must be "0".."N-1", '
                        f'got {order}')
    desc = DatasetDescription(
        path=path,
        layout=layout,
        classes=classes,
        channel_names=tuple(str(channels[k]) for k in order))
    if layout == 'nnunet':
        ending = data.get('file_ending', '.nii.gz')
        if ending not in NIFTI_ENDINGS:
            raise DataError(
                f'{path}: "file_ending" {ending!r} is not supported; ideal_mm '
                'reads NIfTI (".nii.gz" or ".nii") - convert the images')
        desc.file_ending = ending
    else:
        training = data.get('training', [])
        if not isinstance(training, list) or not all(
                isinstance(t, dict) and isinstance(t.get('image'), str)
                for t in training):
            raise DataError(f'{path}: "training" must be a list of '
                            '{"image": ..., "label": ...} entries')
        desc.training = training
        test = data.get('test', [])
        if not isinstance(test, list) or not all(
                isinstance(t, (str, dict)) for t in test):
            raise DataError(f'{path}: "test" must be a list of image paths')
        desc.test = [
            t if isinstance(t, str) else t.get('image', '') for t in test
        ]
    return desc


def _strip_ending(name: str, ending: str) -> Optional[str]:
    return name[:-len(ending)] if name.endswith(ending) else None


def scan_nnunet_images(folder: str, ending: str,
                       num_channels: int) -> Dict[str, Tuple[str, ...]]:
    """``{case: (channel files...)}`` of an nnU-Net images folder.

    Every ``*<ending>`` file must be ``<case>_<CCCC><ending>`` (four-digit
    channel); every case must
    have channels ``0000`` .. ``num_channels - 1`` exactly.
    """
    cases: Dict[str, Dict[int, str]] = {}
    for name in sorted(os.listdir(folder)):
        stem = _strip_ending(name, ending)
        path = os.path.join(folder, name)
        if stem is None or name.startswith('.') or not os.path.isfile(path):
            continue
        match = CHANNEL_RE.match(stem)
        if match is None:
            raise DataError(
                f'{path}: image name lacks the channel suffix; nnU-Net images '
                f'are named <case>_0000{ending} (channel 0), <case>_0001'
                f'{ending}, ... - rename it (e.g. {stem}_0000{ending})')
        channel = int(match.group('channel'))
        cases.setdefault(match.group('case'), {})[channel] = path
    for case, found in cases.items():
        for c in range(num_channels):
            if c not in found:
                expected = os.path.join(folder, f'{case}_{c:04d}{ending}')
                raise DataError(
                    f'{expected}: channel {c} of case {case} is missing '
                    f'(dataset.json declares {num_channels} channel(s)); add '
                    'the file or fix "channel_names"')
        extra = sorted(set(found) - set(range(num_channels)))
        if extra:
            raise DataError(
                f'{found[extra[0]]}: channel {extra[0]} of case {case} is '
                f'not declared (dataset.json has {num_channels} channel(s) '
                'in "channel_names"); remove the file or declare the channel')
    return {
        case: tuple(found[c] for c in range(num_channels))
        for case, found in sorted(cases.items())
    }
