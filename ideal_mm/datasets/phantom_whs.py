"""A second phantom: whole heart, 7 structures, CT- or MR-like (MMWHS-like),
in the nnU-Net, Decathlon or MMWHS-challenge layout."""
from __future__ import annotations

import json
import os
import shutil
from typing import List, Tuple

import numpy as np

from ideal_mm.errors import ConfigError, DataError
from .phantom_files import _write_bytes, nifti_bytes

WHS_MARKER = 'PHANTOM_WHS.json'
WHS_LAYOUTS = ('nnunet', 'msd', 'mmwhs')
#: HU of each structure (CT, contrast-enhanced blood pool) and MR levels.
_WHS_CT = dict(
    air=-1000., lung=-820., tissue=40., fat=-90., myo=110., blood=330.)
_WHS_MR = dict(air=0., lung=40., tissue=350., fat=900., myo=250., blood=800.)


def _whs_case(
    seed: int, number: int, size: Tuple[int, int], num_slices: Tuple[int, int],
    modality: str, num_channels: int
) -> Tuple[np.ndarray, np.ndarray, Tuple[float, float, float]]:
    """One whole-heart phantom case: (C, D, H, W) image, (D, H, W) MMWHS
    label values (205, 420, 500, 550, 600, 820, 850), spacing (sz, sx, sy).

    Ellipsoids in a normalised box [-1, 1]^3: ventricles low, atria high,
    the LV myocardium a shell around the LV cavity, aorta and pulmonary
    artery as tilted cylinders; every centre and radius jittered per case.
    """
    from .convert import MMWHS_LABELS  # noqa: F401  (values documented there)
    rng = np.random.default_rng([seed, number, 11])
    D = int(rng.integers(num_slices[0], num_slices[1] + 1))
    H, W = size
    sz, sxy = float(rng.uniform(1.5, 2.5)), float(rng.uniform(0.8, 1.2))
    z, y, x = np.meshgrid(
        np.linspace(-1, 1, D),
        np.linspace(-1, 1, H),
        np.linspace(-1, 1, W),
        indexing='ij')

    def jit(v: float, s: float = 0.05) -> float:
        return float(v + rng.uniform(-s, s))

    def ell(c, r) -> np.ndarray:
        return (((z - c[0]) / r[0])**2 + ((y - c[1]) / r[1])**2 +
                ((x - c[2]) / r[2])**2) <= 1.0

    scale = float(rng.uniform(0.9, 1.1))
    body = (y / 0.85)**2 + (x / 0.95)**2 <= 1.0
    lungs = ell((0, jit(0.0), jit(-0.6)), (1.4, 0.45, 0.28)) | ell(
        (0, jit(0.0), jit(0.62)), (1.4, 0.45, 0.26))
    lv_c = (jit(-0.25), jit(0.1), jit(0.15))
    lv_r = tuple(r * scale for r in (0.55, 0.22, 0.2))
    lv = ell(lv_c, lv_r)
    myo = ell(lv_c, tuple(r + 0.09 for r in lv_r)) & ~lv
    rv = ell((jit(-0.3), jit(-0.15), jit(-0.2)),
             tuple(r * scale for r in (0.5, 0.22, 0.17))) & ~myo & ~lv
    la = ell((jit(0.45), jit(0.3), jit(0.12)), (0.35, 0.17, 0.17))
    ra = ell((jit(0.45), jit(-0.05), jit(-0.3)), (0.35, 0.17, 0.15))
    ao = ((y - jit(0.05) - 0.1 * z)**2 + (x - jit(0.0))**2 <= 0.09**2) & \
        (z > 0.1)
    pa = ((y - jit(-0.3) + 0.1 * z)**2 + (x - jit(-0.05))**2 <= 0.08**2) & \
        (z > 0.2)
    labels = np.zeros((D, H, W), dtype=np.int16)
    for mask, value in ((myo, 205), (lv, 500), (rv, 600), (la, 420), (ra, 550),
                        (ao, 820), (pa, 850)):
        labels[mask & body] = value
    levels = _WHS_CT if modality == 'ct' else _WHS_MR
    channels = []
    for c in range(num_channels):
        lv_ = dict(levels)
        if c == 1:  # a second phase / contrast: blood darker, myo brighter
            lv_['blood'], lv_['myo'] = lv_['blood'] * 0.6, lv_['myo'] * 1.3
        img = np.full((D, H, W), lv_['air'], dtype=np.float32)
        img[body] = lv_['tissue']
        img[body & lungs] = lv_['lung']
        img[labels == 205] = lv_['myo']
        img[(labels > 0) & (labels != 205)] = lv_['blood']
        gain = float(rng.uniform(0.8, 1.25)) if modality == 'mr' else 1.0
        noise = 25.0 if modality == 'ct' else 30.0
        img = img * gain + rng.normal(0, noise, img.shape).astype(np.float32)
        channels.append(np.round(img).astype(np.int16))
    return np.stack(channels), labels, (sz, sxy, sxy)


def make_phantom_whs(out_dir: str,
                     num_cases: int = 8,
                     num_test: int = 2,
                     seed: int = 0,
                     size: Tuple[int, int] = (48, 48),
                     num_slices: Tuple[int, int] = (8, 10),
                     layout: str = 'nnunet',
                     modality: str = 'ct',
                     num_channels: int = 1,
                     overwrite: bool = False) -> List[str]:
    """Write a whole-heart phantom (7 structures + background = 8 classes).

    Layouts: ``'nnunet'`` (``dataset.json``, ``imagesTr/whs_001_0000.nii.gz``,
    ...
    (+ ``_0001`` for 2 channels), ``labelsTr`` with classes 1..7,
    ``imagesTs``), ``'msd'`` (Decathlon: one 3D/4D image per case, the
    ``training`` / ``test`` lists) or ``'mmwhs'`` (the challenge download:
    ``<mod>_train/<mod>_train_1001_image.nii.gz``, ... and ``_label.nii.gz``
    with
    the raw values 205..850, ``<mod>_test/``), for
    ``tools/data/convert_mmwhs.py``. CT-like intensities in HU (contrast
    blood pool 330, myocardium 110, lungs -820) or MR-like ones with a
    per-case gain. A case's arrays depend only on the seed and its number.

    Returns the image files written (first channel).
    """
    from .convert import MMWHS_CLASSES, MMWHS_LABEL_MAP, dataset_json_nnunet
    if layout not in WHS_LAYOUTS:
        raise ConfigError(f'layout={layout!r} must be one of {WHS_LAYOUTS}')
    if modality not in ('ct', 'mr'):
        raise ConfigError(f"modality={modality!r} must be 'ct' or 'mr'")
    if num_channels not in (1, 2) or (layout == 'mmwhs' and num_channels != 1):
        raise ConfigError(f'num_channels={num_channels!r} must be 1 or 2 (1 '
                          "for layout='mmwhs')")
    if not isinstance(num_cases, int) or num_cases < 1 or num_test < 0:
        raise ConfigError('num_cases must be >= 1 and num_test >= 0')
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        if not overwrite or not os.path.isfile(
                os.path.join(out_dir, WHS_MARKER)):
            raise DataError(f'{out_dir}: folder is not empty; choose a new '
                            'folder (overwrite only replaces a whole-heart '
                            'phantom)')
        shutil.rmtree(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    lut = np.zeros(1024, dtype=np.uint8)
    for raw, idx in MMWHS_LABEL_MAP.items():
        lut[raw] = idx
    written: List[str] = []
    training, test = [], []
    for i in range(num_cases + num_test):
        number = i + 1
        is_test = i >= num_cases
        img, raw, spacing = _whs_case(seed, number, size, num_slices, modality,
                                      num_channels)
        if layout == 'mmwhs':
            part = 'test' if is_test else 'train'
            folder = os.path.join(out_dir, f'{modality}_{part}')
            os.makedirs(folder, exist_ok=True)
            num = (2000 if is_test else 1000) + number
            stem = os.path.join(folder, f'{modality}_{part}_{num}')
            _write_bytes(stem + '_image.nii.gz', nifti_bytes(img[0], spacing))
            if not is_test:
                _write_bytes(stem + '_label.nii.gz', nifti_bytes(raw, spacing))
            written.append(stem + '_image.nii.gz')
            continue
        case = f'whs_{number:03d}'
        sub = 'imagesTs' if is_test else 'imagesTr'
        os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
        os.makedirs(os.path.join(out_dir, 'labelsTr'), exist_ok=True)
        labels = lut[raw]
        if layout == 'nnunet':
            for c in range(num_channels):
                path = os.path.join(out_dir, sub, f'{case}_{c:04d}.nii.gz')
                _write_bytes(path, nifti_bytes(img[c], spacing))
                if c == 0:
                    written.append(path)
        else:
            path = os.path.join(out_dir, sub, f'{case}.nii.gz')
            data = img if num_channels > 1 else img[0]
            _write_bytes(path, nifti_bytes(data, spacing))
            written.append(path)
        if is_test:
            test.append(f'./{sub}/{case}.nii.gz')
        else:
            lab = os.path.join(out_dir, 'labelsTr', f'{case}.nii.gz')
            _write_bytes(lab, nifti_bytes(labels, spacing))
            training.append(
                dict(
                    image=f'./imagesTr/{case}.nii.gz',
                    label=f'./labelsTr/{case}.nii.gz'))
    names = ['CT' if modality == 'ct' else 'MRI', 'late'][:num_channels]
    if layout == 'nnunet':
        meta = dataset_json_nnunet(
            MMWHS_CLASSES, names, num_cases, name='PhantomWHS')
    elif layout == 'msd':
        meta = dict(
            name='PhantomWHS',
            modality={
                str(i): n
                for i, n in enumerate(names)
            },
            labels={
                str(i): c
                for i, c in enumerate(MMWHS_CLASSES)
            },
            numTraining=num_cases,
            numTest=num_test,
            training=training,
            test=test)
    else:
        meta = None
    if meta is not None:
        _write_bytes(
            os.path.join(out_dir, 'dataset.json'),
            json.dumps(meta, indent=1).encode('utf-8'))
    _write_bytes(
        os.path.join(out_dir, WHS_MARKER),
        json.dumps(
            dict(
                generator='ideal_mm.datasets.phantom.make_phantom_whs',
                seed=seed,
                num_cases=num_cases,
                num_test=num_test,
                size=list(size),
                num_slices=list(num_slices),
                layout=layout,
                modality=modality,
                num_channels=num_channels),
            indent=1).encode('utf-8'))
    return written
