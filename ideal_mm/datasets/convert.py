"""Conversions to the nnU-Net v2 raw layout: MMWHS and ACDC.

* :func:`convert_mmwhs`: the MM-WHS 2017 challenge download
  (``ct_train/ct_train_1001_image.nii.gz`` + ``..._label.nii.gz``, the same
  for ``mr_train``; ``ct_test`` / ``mr_test`` images unlabelled) -> an
  nnU-Net data set with the seven structures mapped to 1..7
  (:data:`MMWHS_LABELS`);
* :func:`acdc_to_nnunet`: an ACDC root (raw download or phantom) -> an
  nnU-Net data set whose case ids are ACDC's volume ids
  (``patient001_frame01``), so nnU-Net can be trained on exactly the cases
  that ideal_mm uses (group the frames of a patient with
  ``NnUNetDataset(patient_regex=r'^(patient\\d{3})_')``).

Both write into a temporary folder next to the output and rename it at the
end: a failure (a bad file, a label value outside the map) leaves nothing.
nnU-Net's own converters need nnU-Net installed and do not remap MMWHS's
values, hence this module.
"""
from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import shutil
import tempfile
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np

from ideal_mm.errors import ConfigError, DataError
from .io import ACDC_CLASSES, apply_label_map, scan_data_root

#: MMWHS label value -> (class name, nnU-Net class index).
MMWHS_LABELS: Mapping[int, Tuple[str, int]] = {
    205: ('Myo', 1),  # myocardium of the left ventricle
    420: ('LA', 2),  # left atrium blood cavity
    500: ('LV', 3),  # left ventricle blood cavity
    550: ('RA', 4),  # right atrium blood cavity
    600: ('RV', 5),  # right ventricle blood cavity
    820: ('AA', 6),  # ascending aorta
    850: ('PA', 7),  # pulmonary artery
}
#: ``label_map`` of raw MMWHS label files (for NnUNetDataset on raw values).
MMWHS_LABEL_MAP: Mapping[int, int] = {k: v[1] for k, v in MMWHS_LABELS.items()}
MMWHS_CLASSES = ('background', ) + tuple(
    name for name, _ in sorted(MMWHS_LABELS.values(), key=lambda t: t[1]))
MMWHS_MODALITIES = {'ct': 'CT', 'mr': 'MRI'}
_MMWHS_RE = re.compile(r'^(?P<mod>ct|mr)_(?P<part>train|test)_(?P<num>\d+)_'
                       r'(?P<kind>image|label)\.nii(\.gz)?$')


def _write_dataset_json(folder: str, meta: dict) -> None:
    """``dataset.json`` of a converted folder (the folder is renamed into
    place only when complete, so a plain write suffices)."""
    with open(
            os.path.join(folder, 'dataset.json'), 'w', encoding='utf-8') as f:
        json.dump(meta, f, indent=1)


def dataset_json_nnunet(classes,
                        channel_names,
                        num_training: int,
                        name: str,
                        file_ending: str = '.nii.gz',
                        **extra) -> dict:
    """An nnU-Net v2 ``dataset.json`` dict."""
    data = dict(
        channel_names={
            str(i): c
            for i, c in enumerate(channel_names)
        },
        labels={
            c: i
            for i, c in enumerate(classes)
        },
        numTraining=int(num_training),
        file_ending=file_ending,
        name=name)
    data.update(extra)
    return data


@contextlib.contextmanager
def staged_output(out_dir: str, overwrite: bool):
    """A temporary folder next to ``out_dir`` that replaces it on success."""
    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir):
        if not os.path.isdir(out_dir):
            raise DataError(f'{out_dir}: exists and is not a folder; choose '
                            'another output folder')
        if os.listdir(out_dir) and not overwrite:
            raise DataError(f'{out_dir}: folder is not empty; choose a new '
                            'folder or pass --overwrite')
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(
        dir=parent,
        prefix='.' + os.path.basename(out_dir) + '.',
        suffix='.tmp')
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if os.path.isdir(out_dir):
            old = tmp + '.old'
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _save_nifti(data: np.ndarray, reference, path: str) -> None:
    """Save ``data`` with ``reference``'s affine and header (gzip, mtime 0)."""
    import nibabel as nib
    header = reference.header.copy()
    header.set_data_dtype(data.dtype)
    image = nib.Nifti1Image(data, reference.affine, header=header)
    image.header.set_slope_inter(1.0, 0.0)
    qcode = int(reference.header['qform_code'])
    scode = int(reference.header['sform_code'])
    image.set_qform(reference.get_qform(), code=qcode or 1)
    image.set_sform(reference.get_sform(), code=scode or 1)
    with open(path, 'wb') as f:
        f.write(gzip.compress(image.to_bytes(), compresslevel=6, mtime=0))


def _copy_as_niigz(src: str, dst: str) -> None:
    """Copy a NIfTI file to ``dst`` (``.nii.gz``), compressing ``.nii``."""
    if src.endswith('.nii.gz'):
        shutil.copyfile(src, dst)
    else:
        with open(src, 'rb') as f:
            data = f.read()
        with open(dst, 'wb') as f:
            f.write(gzip.compress(data, compresslevel=6, mtime=0))


def _mmwhs_cases(
        src: str,
        modality: str) -> Tuple[Dict[str, Dict[str, str]], Dict[str, str]]:
    """``({num: {'image', 'label'}}, {num: test image})`` of one modality."""
    train: Dict[str, Dict[str, str]] = {}
    test: Dict[str, str] = {}
    for part in ('train', 'test'):
        folder = os.path.join(src, f'{modality}_{part}')
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            m = _MMWHS_RE.match(name)
            if m is None or m.group('mod') != modality:
                continue
            path = os.path.join(folder, name)
            if part == 'train':
                entry = train.setdefault(m.group('num'), {})
                if m.group('kind') in entry:
                    raise DataError(f'{path}: case {m.group("num")} has two '
                                    f'{m.group("kind")} files; keep one')
                entry[m.group('kind')] = path
            elif m.group('kind') == 'image':
                if m.group('num') in test:
                    raise DataError(f'{path}: duplicated test case '
                                    f'{m.group("num")}; keep one file')
                test[m.group('num')] = path
    for num, entry in train.items():
        for kind in ('image', 'label'):
            if kind not in entry:
                other = next(iter(entry.values()))
                raise DataError(
                    f'{other}: case {num} has no {kind} file '
                    f'({modality}_train_{num}_{kind}.nii.gz); restore it or '
                    'remove the case')
    return train, test


def convert_mmwhs(src: str,
                  out_dir: str,
                  modality: str = 'ct',
                  extra_label_map: Optional[Mapping[int, int]] = None,
                  overwrite: bool = False) -> dict:
    """Convert the MM-WHS download of one modality to nnU-Net v2 raw.

    Writes ``imagesTr/mmwhs_<mod>_<num>_0000.nii.gz`` (the image bytes as
    they are, gzip), ``labelsTr/mmwhs_<mod>_<num>.nii.gz`` (uint8, values
    205..850 -> 1..7 by :data:`MMWHS_LABELS`; ``extra_label_map`` adds
    entries, e.g. ``{421: 2}`` for a stray LA value), ``imagesTs/`` from the
    ``<mod>_test`` images and ``dataset.json``. Every label volume is
    checked before anything appears at ``out_dir``: a value outside the map
    raises DataError naming the file and the values; image and label must
    share shape and affine.

    Returns the written ``dataset.json`` dict.
    """
    if modality not in MMWHS_MODALITIES:
        raise ConfigError(f'modality={modality!r} must be one of '
                          f'{sorted(MMWHS_MODALITIES)}')
    if not os.path.isdir(src):
        raise DataError(f'{src}: not a folder; pass the MM-WHS folder that '
                        f'holds {modality}_train/')
    train, test = _mmwhs_cases(src, modality)
    if not train:
        raise DataError(
            f'{src}: no {modality}_train/{modality}_train_<num>_image.nii.gz '
            'files found; pass the MM-WHS 2017 folder (with ct_train/ and '
            'mr_train/)')
    lut = dict(MMWHS_LABEL_MAP)
    lut.update({int(k): int(v) for k, v in (extra_label_map or {}).items()})
    from .nifti_read import _check_same_grid, _load_nifti, nifti_spacing
    with staged_output(out_dir, overwrite) as tmp:
        for sub in ('imagesTr', 'labelsTr', 'imagesTs'):
            os.makedirs(os.path.join(tmp, sub))
        for num, entry in sorted(train.items()):
            case = f'mmwhs_{modality}_{num}'
            img_data, img = _load_nifti(entry['image'])
            if img_data.ndim != 3:
                raise DataError(f'{entry["image"]}: shape {img_data.shape} is '
                                'not a 3D volume')
            nifti_spacing(img, entry['image'])
            lab_data, lab = _load_nifti(entry['label'])
            _check_same_grid(entry['label'], lab_data.shape,
                             np.asarray(lab.affine), entry['image'],
                             img_data.shape, np.asarray(img.affine))
            values = np.rint(lab_data).astype(np.int64)
            mapped = apply_label_map(values, lut, entry['label'])
            _copy_as_niigz(
                entry['image'],
                os.path.join(tmp, 'imagesTr', case + '_0000.nii.gz'))
            _save_nifti(
                mapped.astype(np.uint8), lab,
                os.path.join(tmp, 'labelsTr', case + '.nii.gz'))
        for num, path in sorted(test.items()):
            _copy_as_niigz(
                path,
                os.path.join(tmp, 'imagesTs',
                             f'mmwhs_{modality}_{num}_0000.nii.gz'))
        meta = dataset_json_nnunet(
            MMWHS_CLASSES, [MMWHS_MODALITIES[modality]],
            len(train),
            name=f'MMWHS_{modality.upper()}',
            description='MM-WHS 2017 converted by ideal_mm: 205 Myo, 420 LA, '
            '500 LV, 550 RA, 600 RV, 820 AA, 850 PA -> 1..7')
        _write_dataset_json(tmp, meta)
    return meta


def acdc_to_nnunet(acdc_root: str,
                   out_dir: str,
                   overwrite: bool = False) -> dict:
    """Convert a raw ACDC root (download or phantom) to nnU-Net v2 raw.

    Every ED / ES frame becomes a case named by its ACDC volume id
    (``imagesTr/patient001_frame01_0000.nii.gz``, the file's bytes; labels
    ``labelsTr/patient001_frame01.nii.gz``); frames without labels go to
    ``imagesTs``. ``dataset.json`` has ACDC's classes. Returns it.
    """
    patients = scan_data_root(acdc_root, 'raw')
    frames = [f for rec in patients.values() for f in rec.frames]
    with staged_output(out_dir, overwrite) as tmp:
        for sub in ('imagesTr', 'labelsTr', 'imagesTs'):
            os.makedirs(os.path.join(tmp, sub))
        n = 0
        for frame in frames:
            sub = 'imagesTr' if frame.gt_file else 'imagesTs'
            _copy_as_niigz(
                frame.img_file,
                os.path.join(tmp, sub, f'{frame.volume_id}_0000.nii.gz'))
            if frame.gt_file:
                n += 1
                _copy_as_niigz(
                    frame.gt_file,
                    os.path.join(tmp, 'labelsTr', f'{frame.volume_id}.nii.gz'))
        meta = dataset_json_nnunet(
            ACDC_CLASSES, ['cineMRI'],
            n,
            name='ACDC',
            description='ACDC converted by ideal_mm (tools/data/'
            'acdc_to_nnunet.py); case = patient<NNN>_frame<NN>')
        _write_dataset_json(tmp, meta)
    return meta


__all__: List[str] = [
    'MMWHS_LABELS', 'MMWHS_LABEL_MAP', 'MMWHS_CLASSES', 'convert_mmwhs',
    'acdc_to_nnunet', 'dataset_json_nnunet'
]
