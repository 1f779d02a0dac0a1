"""Patient-level train/val/test splits of ACDC and label budgets.

Three kinds, chosen by ``split_cfg['type']``:

* ``dict(type='ssl4mis')`` - the fixed split of SSL4MIS (70/10/20 patients of
  001-100) shipped in ``splits/acdc_ssl4mis.json``; needs the real ACDC data;
* ``dict(type='seeded', seed=0, num_val=None, num_test=None, val_ratio=None,
  test_ratio=None)`` - a random split of whatever patients the data root
  holds, stratified by the ``Group`` of ``Info.cfg`` and deterministic for a
  seed (defaults: 10 % val, 20 % test);
* ``dict(type='file', path='splits.json')`` - a JSON file with ``train``,
  ``val`` and ``test`` patient lists.

mmseg splits images by file lists; ACDC needs splits by patient (both frames
of a patient in one set) and label budgets by patient, hence this module.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from ideal_mm.errors import ConfigError, DataError

SPLIT_NAMES = ('train', 'val', 'test')
SSL4MIS_SPLIT_FILE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), 'splits', 'acdc_ssl4mis.json')

Split = Dict[str, List[str]]


def read_split_file(path: str) -> Split:
    """Read a JSON split file with ``train``, ``val`` and ``test`` lists."""
    if not os.path.isfile(path):
        raise ConfigError(f'split_cfg.path={path!r}: file not found; give a '
                          'JSON file with "train", "val" and "test" patient '
                          'lists')
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise ConfigError(f'split_cfg.path={path!r}: not valid JSON ({err})') \
            from err
    if not isinstance(data, dict):
        raise ConfigError(f'split_cfg.path={path!r}: expected a JSON object '
                          'with "train", "val" and "test" lists')
    split: Split = {}
    for name in SPLIT_NAMES:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(
                isinstance(p, str) for p in value):
            raise ConfigError(f'split_cfg.path={path!r}: "{name}" must be a '
                              'list of patient ids like "patient001"')
        split[name] = list(value)
    if not split['train']:
        raise ConfigError(f'split_cfg.path={path!r}: "train" is empty')
    return split


def ssl4mis_split() -> Split:
    """The SSL4MIS ACDC split (70 train / 10 val / 20 test patients)."""
    return read_split_file(SSL4MIS_SPLIT_FILE)


def _count(name: str, num: Optional[int], ratio: Optional[float],
           default_ratio: float, total: int) -> int:
    if num is not None and ratio is not None:
        raise ConfigError(f'split_cfg: give num_{name} or {name}_ratio, not '
                          'both')
    if num is not None:
        if isinstance(num, bool) or not isinstance(num, (int, np.integer)) \
                or num < 0:
            raise ConfigError(f'split_cfg.num_{name}={num!r} must be an '
                              'integer >= 0')
        return int(num)
    ratio = default_ratio if ratio is None else ratio
    if not isinstance(ratio, (int, float)) or not 0 <= ratio < 1:
        raise ConfigError(
            f'split_cfg.{name}_ratio={ratio!r} must be in [0, 1)')
    return int(round(ratio * total))


def seeded_split(patients: Sequence[str],
                 groups: Optional[Mapping[str, Optional[str]]] = None,
                 seed: int = 0,
                 num_val: Optional[int] = None,
                 num_test: Optional[int] = None,
                 val_ratio: Optional[float] = None,
                 test_ratio: Optional[float] = None) -> Split:
    """A random patient split stratified by group, deterministic for a seed.

    Patients are shuffled within each group (patients without a group form
    one stratum) and ordered by their relative position ``(i + 0.5) / n_g``
    in their group, so any prefix of the order holds every group in
    proportion; test takes the first ``num_test``, val the next ``num_val``
    and train the rest. Returned lists are sorted.
    """
    groups = groups or {}
    patients = sorted(set(patients))
    total = len(patients)
    n_val = _count('val', num_val, val_ratio, 0.1, total)
    n_test = _count('test', num_test, test_ratio, 0.2, total)
    if n_val + n_test >= total:
        raise ConfigError(
            f'split_cfg: num_val={n_val} + num_test={n_test} leaves no '
            f'training patient out of {total}; lower num_val/num_test (or the '
            'ratios)')
    rng = np.random.default_rng(seed)
    strata: Dict[str, List[str]] = {}
    for pid in patients:
        strata.setdefault(str(groups.get(pid) or ''), []).append(pid)
    keyed = []
    names = sorted(strata)
    tie = rng.permutation(len(names))
    for s, name in enumerate(names):
        members = [strata[name][i] for i in rng.permutation(len(strata[name]))]
        for i, pid in enumerate(members):
            keyed.append(((i + 0.5) / len(members), int(tie[s]), pid))
    order = [pid for _, _, pid in sorted(keyed)]
    return dict(
        test=sorted(order[:n_test]),
        val=sorted(order[n_test:n_test + n_val]),
        train=sorted(order[n_test + n_val:]))


def check_split(split: Split, available: Sequence[str], data_root: str,
                split_type: str) -> None:
    """Raise for a patient in two sets or named but missing from the data."""
    seen: Dict[str, str] = {}
    for name in SPLIT_NAMES:
        for pid in split.get(name, []):
            if pid in seen and seen[pid] != name:
                raise ConfigError(
                    f'split_cfg (type={split_type!r}): {pid} is in both '
                    f'"{seen[pid]}" and "{name}"; a patient must be in one '
                    'set only')
            seen[pid] = name
    available = set(available)
    missing = sorted(p for p in seen if p not in available)
    if missing:
        shown = ', '.join(missing[:5]) + (' ...' if len(missing) > 5 else '')
        raise DataError(
            f'{data_root}: {len(missing)} patient(s) named by split_cfg '
            f'(type={split_type!r}) are not in the data: {shown}; for data '
            "other than the full ACDC set use split_cfg=dict(type='seeded', "
            'seed=0, num_val=..., num_test=...)')


def build_split(split_cfg: Mapping,
                patients: Sequence[str],
                groups: Optional[Mapping[str, Optional[str]]] = None,
                data_root: str = '') -> Split:
    """Build and check the split that ``split_cfg`` describes.

    Args:
        split_cfg: ``dict(type='ssl4mis' | 'seeded' | 'file', ...)``.
        patients: the patient ids present in the data root.
        groups: patient id -> Info.cfg group (for stratification).
        data_root: named in error messages.
    """
    if not isinstance(split_cfg, Mapping) or 'type' not in split_cfg:
        raise ConfigError(f'split_cfg={split_cfg!r} must be a dict with a '
                          "'type' of 'ssl4mis', 'seeded' or 'file'")
    cfg = dict(split_cfg)
    kind = cfg.pop('type')
    if kind == 'ssl4mis':
        if cfg:
            raise ConfigError(f'split_cfg: type ssl4mis takes no options, got '
                              f'{sorted(cfg)}')
        split = ssl4mis_split()
    elif kind == 'seeded':
        allowed = {'seed', 'num_val', 'num_test', 'val_ratio', 'test_ratio'}
        unknown = sorted(set(cfg) - allowed)
        if unknown:
            raise ConfigError(f'split_cfg: unknown key(s) {unknown} for type '
                              f'seeded; allowed: {sorted(allowed)}')
        split = seeded_split(patients, groups, **cfg)
    elif kind == 'file':
        if 'path' not in cfg:
            raise ConfigError("split_cfg: type 'file' needs path='split.json'")
        split = read_split_file(cfg['path'])
    else:
        raise ConfigError(f"split_cfg.type={kind!r} is not supported; use "
                          "'ssl4mis', 'seeded' or 'file'")
    check_split(split, patients, data_root, kind)
    return split


def select_labelled(train_patients: Sequence[str],
                    label_budget: Union[int, float, None]) -> List[str]:
    """The labelled patients of a budget: the first N of the sorted train list.

    ``label_budget`` is a number of patients (int >= 1), a fraction of the
    train patients (float in (0, 1], rounded, at least 1), or None (all).
    """
    train = sorted(train_patients)
    if label_budget is None:
        return train
    total = len(train)
    if isinstance(label_budget, bool):
        raise ConfigError(f'label_budget={label_budget!r} must be an int '
                          '(patients) or a float in (0, 1] (fraction)')
    if isinstance(label_budget, (int, np.integer)):
        if not 1 <= label_budget <= total:
            raise ConfigError(
                f'label_budget={label_budget} must be between 1 and the '
                f'number of train patients ({total}); use a count in that '
                'range or a fraction in (0, 1]')
        n = int(label_budget)
    elif isinstance(label_budget, float):
        if not 0 < label_budget <= 1:
            raise ConfigError(
                f'label_budget={label_budget} must be a fraction in (0, 1] of '
                f'the {total} train patients, or an int count')
        n = max(1, int(np.floor(label_budget * total + 0.5)))
    else:
        raise ConfigError(f'label_budget={label_budget!r} must be an int '
                          '(patients) or a float in (0, 1] (fraction)')
    return train[:n]
