"""Synthetic ACDC-like cardiac MRI ("phantom ACDC") in the raw ACDC layout.

Tests, the demo and users without the real data need data that goes through
exactly the code paths of the real ACDC download. :func:`make_phantom_acdc`
writes ``<out_dir>/training/patient<NNN>/`` folders with ``Info.cfg``,
``patient<NNN>_frame<NN>.nii.gz`` and ``patient<NNN>_frame<NN>_gt.nii.gz`` for
the ED
and ES frames (optionally the ``_4d`` cine), NIfTI with the voxel spacing in
the affine, zooms, qform and sform.

The anatomy of one short-axis slice: an elliptic LV blood pool with a
perturbed outline and papillary muscles, a myocardium ring around it
(thickness varying per group, thinned locally for MINF), an RV crescent
hugging the septum with a thin unlabelled free wall, epicardial fat, lungs,
a body ellipse filled with smoothed tissue texture and subcutaneous fat. Over
the slices the heart shrinks from base to apex (the RV ends before the apex);
at ES the LV cavity is smaller and the myocardium thicker (its area is kept).
Images get partial-volume blur, a smooth multiplicative bias field and
Rician noise, and are stored as int16 MRI-like intensities. Groups cycle
DCM, HCM, MINF, NOR, RV and change the shape parameters accordingly.

``variability='high'`` (``--variability high``) draws, per patient, what
makes few-label training hard on real cine MRI (see
:class:`.phantom_variability._HighVariability`): scanner contrast profiles
(blood, myocardium, fat, lung and tissue levels, not
only gain), heart position, orientation and size within a larger field of
view, in-plane resolution, partial-volume blur, bias-field strength, noise
level, ghosting, breath-hold slice misregistration, trabeculation and
papillary muscles, and unlabelled bright look-alikes (ascending and
descending aorta, liver). The default (``'standard'``) is unchanged, byte for
byte.

Everything is drawn from ``np.random.default_rng([seed, patient_number,
...])``: a patient's arrays depend only on the seed, its number and the size
options, never on how many patients are generated; files are gzip-compressed
with a zero timestamp, so equal inputs give byte-identical files.

The parts: the patient's anatomy (:mod:`.phantom_anatomy`), the
high-variability
draws (:mod:`.phantom_variability`), file writing (:mod:`.phantom_files`) and
the whole-heart phantom (:mod:`.phantom_whs`); this module writes the phantom
ACDC folders and re-exports every name it had.
"""
from __future__ import annotations

import json
import os
import shutil
from typing import Dict, List, Tuple, Union

import numpy as np

from ideal_mm.errors import ConfigError, DataError
# yapf: disable
from .phantom_anatomy import GROUPS, _Patient, contraction  # noqa: F401
from .phantom_files import _write_bytes, nifti_bytes  # noqa: F401
from .phantom_whs import (WHS_LAYOUTS, WHS_MARKER,  # noqa: F401
                          make_phantom_whs)

# yapf: enable

DEFAULT_SIZE = ((200, 260), (180, 240))
MARKER = 'PHANTOM_ACDC.json'

VARIABILITY = ('standard', 'high')

SizeArg = Union[Tuple[int, int], Tuple[Tuple[int, int], Tuple[int, int]]]


def _size_range(size: SizeArg) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    try:
        h, w = size
        h = (int(h), int(h)) if np.isscalar(h) else tuple(int(v) for v in h)
        w = (int(w), int(w)) if np.isscalar(w) else tuple(int(v) for v in w)
        if len(h) != 2 or len(w) != 2:
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f'size={size!r} must be (H, W) or ((H_min, H_max), '
                          '(W_min, W_max))') from None
    if min(h + w) < 32 or h[0] > h[1] or w[0] > w[1]:
        raise ConfigError(f'size={size!r}: sizes must be >= 32 px and ranges '
                          'ordered (min, max)')
    return h, w


def _prepare_out_dir(out_dir: str, overwrite: bool) -> None:
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise DataError(f'--out {out_dir}: exists and is not a folder; choose '
                        'a new or empty folder')
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        marker = os.path.join(out_dir, MARKER)
        if not overwrite:
            raise DataError(
                f'--out {out_dir}: folder is not empty; pass --overwrite '
                '(overwrite=True) to replace a phantom dataset, or choose a '
                'new folder')
        if not os.path.isfile(marker):
            raise DataError(
                f'--out {out_dir}: not empty and not a phantom dataset (no '
                f'{MARKER}); overwrite only replaces generated phantom data - '
                'choose a new or empty folder')
        for sub in ('training', 'testing'):
            shutil.rmtree(os.path.join(out_dir, sub), ignore_errors=True)
        os.remove(marker)
    try:
        os.makedirs(os.path.join(out_dir, 'training'), exist_ok=True)
    except OSError as err:
        raise DataError(f'--out {out_dir}: cannot create the folder ({err}); '
                        'choose a writable path') from err


def make_phantom_acdc(out_dir: str,
                      num_patients: int = 12,
                      seed: int = 0,
                      size: SizeArg = DEFAULT_SIZE,
                      num_slices: Tuple[int, int] = (6, 12),
                      with_4d: bool = False,
                      start_id: int = 1,
                      overwrite: bool = False,
                      progress: bool = False,
                      variability: str = 'standard') -> List[str]:
    """Write a phantom ACDC dataset into ``out_dir/training``.

    Args:
        out_dir: dataset root; must be new or empty, unless ``overwrite`` and
            it holds an earlier phantom dataset (which is then replaced).
        num_patients: patients ``patient{start_id:03d}`` onwards.
        seed: all randomness derives from it.
        size: in-plane size (H, W), fixed or ((H_min, H_max), (W_min, W_max)).
        num_slices: (min, max) slices per volume.
        with_4d: also write the ``_4d`` cine (NbFrame frames).
        start_id: number of the first patient.
        overwrite: replace an earlier phantom dataset in ``out_dir``.
        progress: show a tqdm bar.
        variability: ``'standard'`` or ``'high'`` (inter-patient
            variability of real cine MRI: contrast, pose, size, artefacts,
            look-alikes; see :class:`.phantom_variability._HighVariability`).

    Returns:
        The patient folders written.
    """
    if not isinstance(num_patients, int) or num_patients < 1:
        raise ConfigError(f'num_patients={num_patients!r} must be an int >= 1')
    if not isinstance(start_id, int) or start_id < 1 or \
            start_id + num_patients - 1 > 999:
        raise ConfigError(f'start_id={start_id!r}: patient numbers must stay '
                          'within 1..999')
    if len(num_slices) != 2 or not 2 <= num_slices[0] <= num_slices[1]:
        raise ConfigError(f'num_slices={num_slices!r} must be (min, max) with '
                          '2 <= min <= max')
    if variability not in VARIABILITY:
        raise ConfigError(f'variability={variability!r} must be one of '
                          f'{VARIABILITY}')
    size_rng = _size_range(size)
    _prepare_out_dir(out_dir, overwrite)
    from ideal_mm.progress import progress_bar
    folders = []
    for number in progress_bar(
            range(start_id, start_id + num_patients),
            desc='phantom ACDC',
            unit='patient',
            disable=not progress):
        folders.append(
            _write_patient(out_dir, seed, number, size_rng,
                           tuple(int(n) for n in num_slices), with_4d,
                           variability))
    marker: Dict[str, object] = dict(
        generator='ideal_mm.datasets.phantom.make_phantom_acdc',
        num_patients=num_patients,
        seed=seed,
        size=[list(s) for s in size_rng],
        num_slices=list(num_slices),
        with_4d=with_4d,
        start_id=start_id)
    if variability != 'standard':  # the standard marker stays as it was
        marker['variability'] = variability
    _write_bytes(
        os.path.join(out_dir, MARKER),
        json.dumps(marker, indent=1).encode('utf-8'))
    return folders


def _write_patient(out_dir: str,
                   seed: int,
                   number: int,
                   size: Tuple[Tuple[int, int], Tuple[int, int]],
                   num_slices: Tuple[int, int],
                   with_4d: bool,
                   variability: str = 'standard') -> str:
    pid = f'patient{number:03d}'
    group = GROUPS[(number - 1) % len(GROUPS)]
    patient = _Patient(seed, number, group, size, num_slices, variability)
    rng = np.random.default_rng([seed, number, 1])
    num_frames = int(rng.integers(20, 31))
    es = int(rng.integers(8, 15))
    height = round(float(rng.uniform(150, 195)), 1)
    weight = round(float(rng.uniform(50, 110)), 1)
    folder = os.path.join(out_dir, 'training', pid)
    os.makedirs(folder, exist_ok=True)
    for frame, c in ((1, 0.0), (es, 1.0)):
        img, gt = patient.render(c, frame)
        stem = os.path.join(folder, f'{pid}_frame{frame:02d}')
        _write_bytes(stem + '.nii.gz', nifti_bytes(img, patient.spacing))
        _write_bytes(stem + '_gt.nii.gz', nifti_bytes(gt, patient.spacing))
    if with_4d:
        cine = np.stack([
            patient.render(contraction(f, es, num_frames), f)[0]
            for f in range(1, num_frames + 1)
        ])
        _write_bytes(
            os.path.join(folder, f'{pid}_4d.nii.gz'),
            nifti_bytes(cine, patient.spacing, time_step=0.03))
    info = (f'ED: 1\nES: {es}\nGroup: {group}\nHeight: {height}\n'
            f'NbFrame: {num_frames}\nWeight: {weight}\n')
    _write_bytes(os.path.join(folder, 'Info.cfg'), info.encode('utf-8'))
    return folder
