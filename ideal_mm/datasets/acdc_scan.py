"""Finding the patients of an ACDC copy: the raw NIfTI download or the SSL4MIS
h5 copy.

Layouts in :mod:`ideal_mm.datasets.io`. Every problem with the folder (missing
root, ``Info.cfg`` or frame file, duplicate patient) is a
:class:`~ideal_mm.errors.DataError` that names the path and says how to fix it.
"""
from __future__ import annotations

import os
import re
from typing import Dict, List, Tuple

from ideal_mm.errors import DataError
from .records import FrameFiles, PatientRecord

PATIENT_RE = re.compile(r'^patient(\d{3})$')
H5_RE = re.compile(r'^(patient\d{3})_frame(\d{2})\.h5$')
RAW_SUBSETS = ('training', 'testing')
H5_VOLUME_DIR = 'ACDC_training_volumes'


def parse_info_cfg(path: str) -> Dict[str, str]:
    """Parse an ACDC ``Info.cfg`` (``Key: value`` lines) and check ED/ES.

    Returns the key/value strings; ``ED`` and ``ES`` are guaranteed present
    and integer.
    """
    if not os.path.isfile(path):
        raise DataError(
            f'{path}: Info.cfg is missing; every ACDC patient folder needs '
            'one with "ED: <frame>" and "ES: <frame>" lines (restore it from '
            'the ACDC download or remove the folder)')
    info: Dict[str, str] = {}
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            for line in f:
                if ':' not in line:
                    continue
                key, value = line.split(':', 1)
                info[key.strip()] = value.strip()
    except OSError as err:
        raise DataError(f'{path}: cannot read Info.cfg ({err})') from err
    for key in ('ED', 'ES'):
        value = info.get(key)
        if value is None:
            raise DataError(
                f'{path}: no "{key}:" line; Info.cfg must name the ED and ES '
                f'frame numbers, e.g. "ED: 1" and "ES: 12"')
        try:
            int(float(value))
        except ValueError:
            raise DataError(f'{path}: "{key}: {value}" is not a frame number; '
                            'write e.g. "ED: 1"') from None
    return info


def read_raw_patient(folder: str, patient_id: str) -> PatientRecord:
    """One raw ACDC patient folder (``Info.cfg``, ED/ES frames and their
    ``_gt`` files) as a :class:`PatientRecord`."""
    info = parse_info_cfg(os.path.join(folder, 'Info.cfg'))
    record = PatientRecord(
        patient_id=patient_id,
        folder=folder,
        group=info.get('Group') or None,
        info=info)
    for frame in ('ED', 'ES'):
        number = int(float(info[frame]))
        stem = f'{patient_id}_frame{number:02d}'
        img = os.path.join(folder, stem + '.nii.gz')
        if not os.path.isfile(img) and os.path.isfile(
                os.path.join(folder, stem + '.nii')):
            img = os.path.join(folder, stem + '.nii')
        if not os.path.isfile(img):
            raise DataError(
                f'{img}: missing {frame} frame named by '
                f'{os.path.join(folder, "Info.cfg")} ({frame}: {number}); '
                'restore the file or correct Info.cfg')
        gt = os.path.join(folder, stem + '_gt.nii.gz')
        if not os.path.isfile(gt) and os.path.isfile(
                os.path.join(folder, stem + '_gt.nii')):
            gt = os.path.join(folder, stem + '_gt.nii')
        record.frames.append(
            FrameFiles(
                volume_id=stem,
                patient_id=patient_id,
                frame=frame,
                frame_number=number,
                img_file=img,
                gt_file=gt if os.path.isfile(gt) else None,
                kind='nifti'))
    return record


def _check_root(data_root: str) -> None:
    if not data_root or not os.path.isdir(data_root):
        raise DataError(
            f'data_root {data_root!r} does not exist or is not a folder; set '
            'data_root to the ACDC folder (the one holding training/ and '
            'testing/), or generate phantom data with '
            'tools/data/make_phantom_acdc.py')


def scan_raw(data_root: str) -> Dict[str, PatientRecord]:
    """Find every patient of a raw ACDC root (``training/`` and ``testing/``).

    Returns patient_id -> record, sorted by id. Raises DataError for a
    missing root, a root without patients, a patient without Info.cfg or
    frame file, and a patient present in both sub-folders.
    """
    _check_root(data_root)
    patients: Dict[str, PatientRecord] = {}
    for subset in RAW_SUBSETS:
        sub = os.path.join(data_root, subset)
        if not os.path.isdir(sub):
            continue
        for name in sorted(os.listdir(sub)):
            folder = os.path.join(sub, name)
            if not PATIENT_RE.match(name) or not os.path.isdir(folder):
                continue
            if name in patients:
                raise DataError(
                    f'{folder}: {name} is also in '
                    f'{patients[name].folder}; keep one copy of each patient')
            patients[name] = read_raw_patient(folder, name)
    if not patients:
        hint = ''
        nested = os.path.join(data_root, 'database')
        if os.path.isdir(os.path.join(nested, 'training')):
            hint = f' (found {nested}/training: set data_root={nested!r})'
        elif os.path.isdir(os.path.join(data_root, H5_VOLUME_DIR)):
            hint = " (found SSL4MIS h5 volumes: set source='ssl4mis_h5')"
        raise DataError(
            f'{data_root}: no patient folders found; expected '
            f'{data_root}/training/patient<NNN>/ (and/or testing/) with '
            f'Info.cfg and patient<NNN>_frame<NN>[_gt].nii.gz files{hint}')
    return dict(sorted(patients.items()))


def scan_ssl4mis_h5(data_root: str) -> Dict[str, PatientRecord]:
    """Find the patients of an SSL4MIS ACDC copy (``ACDC_training_volumes``).

    The h5 copy has no Info.cfg: the lower frame number of a patient is
    taken as ED and the higher one as ES (ACDC's ED is frame 01), and the
    group is unknown (None).
    """
    _check_root(data_root)
    folder = os.path.join(data_root, H5_VOLUME_DIR)
    if not os.path.isdir(folder):
        raise DataError(
            f'{folder}: not found; the SSL4MIS copy of ACDC keeps its volumes '
            f'in <data_root>/{H5_VOLUME_DIR}/patient<NNN>_frame<NN>.h5 (set '
            "data_root to that copy, or source='raw' for the NIfTI download)")
    frames: Dict[str, List[Tuple[int, str]]] = {}
    for name in sorted(os.listdir(folder)):
        match = H5_RE.match(name)
        if match:
            frames.setdefault(match.group(1), []).append(
                (int(match.group(2)), os.path.join(folder, name)))
    if not frames:
        raise DataError(f'{folder}: no patient<NNN>_frame<NN>.h5 files found')
    patients: Dict[str, PatientRecord] = {}
    for pid, found in sorted(frames.items()):
        if len(found) != 2:
            raise DataError(
                f'{folder}: {pid} has {len(found)} frame file(s) '
                f'({", ".join(os.path.basename(p) for _, p in found)}); '
                'ACDC needs exactly two (ED and ES): add the missing one or '
                'remove the extra ones')
        record = PatientRecord(patient_id=pid, folder=folder, group=None)
        for frame, (number, path) in zip(('ED', 'ES'), sorted(found)):
            record.frames.append(
                FrameFiles(
                    volume_id=f'{pid}_frame{number:02d}',
                    patient_id=pid,
                    frame=frame,
                    frame_number=number,
                    img_file=path,
                    gt_file=path,
                    kind='h5'))
        patients[pid] = record
    return patients


def scan_data_root(data_root: str, source: str) -> Dict[str, PatientRecord]:
    """Dispatch to :func:`scan_raw` or :func:`scan_ssl4mis_h5` by
    ``source``."""
    if source == 'raw':
        return scan_raw(data_root)
    if source == 'ssl4mis_h5':
        return scan_ssl4mis_h5(data_root)
    from ideal_mm.errors import ConfigError
    raise ConfigError(f"source={source!r} is not supported; use 'raw' (ACDC "
                      "NIfTI download) or 'ssl4mis_h5' (SSL4MIS h5 copy)")
