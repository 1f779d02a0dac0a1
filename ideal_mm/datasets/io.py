"""Reading and validating ACDC files: ``Info.cfg``, NIfTI frames, SSL4MIS h5.

Everything a user's data can get wrong is reported as a
:class:`~ideal_mm.errors.DataError` that names the file and says how to fix
it. Arrays come back in ideal_mm's (D, H, W) = (Z, X, Y) order (see
``docs/data_contract.md``).

Two layouts are understood:

* ``raw`` - the ACDC challenge download::

      <root>/training/patient001/Info.cfg
      <root>/training/patient001/patient001_frame01.nii.gz     (ED image)
      <root>/training/patient001/patient001_frame01_gt.nii.gz  (ED labels)
      <root>/training/patient001/patient001_frame12.nii.gz     (ES ...)
      <root>/testing/patient101/...

  ``patientXXX_4d.nii.gz`` (the whole cine) is ignored.
* ``ssl4mis_h5`` - the copy used by SSL4MIS::

      <root>/ACDC_training_volumes/patient001_frame01.h5   (datasets image, label)

  Only the volumes are read: ``ACDC_training_slices/*.h5`` hold the same
  slices again, and ideal_mm slices the volumes itself. The h5 files store no
  voxel spacing, so spacing is (1, 1, 1) and distances are in voxels.
"""
from __future__ import annotations

import gzip
import os
import re
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from ideal_mm.errors import DataError

#: Label values of ACDC: 0 background, 1 RV, 2 Myo, 3 LV.
NUM_CLASSES = 4
PATIENT_RE = re.compile(r'^patient(\d{3})$')
H5_RE = re.compile(r'^(patient\d{3})_frame(\d{2})\.h5$')
RAW_SUBSETS = ('training', 'testing')
H5_VOLUME_DIR = 'ACDC_training_volumes'

_H5_SPACING_WARNED = False

Spacing = Tuple[float, float, float]


@dataclass
class FrameFiles:
    """The source files of one frame (one 3D volume) of a patient.

    ``gt_file`` is None when no label file exists; that is only an error
    when the frame's labels are needed. For ``kind='h5'`` image and labels
    live in the same file.
    """

    volume_id: str
    patient_id: str
    frame: str  # 'ED' or 'ES'
    frame_number: int
    img_file: str
    gt_file: Optional[str]
    kind: str  # 'nifti' or 'h5'


@dataclass
class PatientRecord:
    """A patient found in a data root: its group and its ED and ES frames."""

    patient_id: str
    folder: str
    group: Optional[str]
    frames: List[FrameFiles] = field(default_factory=list)
    info: Dict[str, str] = field(default_factory=dict)


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


def _raw_patient(folder: str, patient_id: str) -> PatientRecord:
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
            patients[name] = _raw_patient(folder, name)
    if not patients:
        hint = ''
        nested = os.path.join(data_root, 'database')
        if os.path.isdir(os.path.join(nested, 'training')):
            hint = f' (found {nested}/training: set data_root={nested!r})'
        elif os.path.isdir(os.path.join(data_root, H5_VOLUME_DIR)):
            hint = " (found SSL4MIS h5 volumes: set source='ssl4mis_h5')"
        raise DataError(
            f'{data_root}: no patient folders found; expected '
            f'{data_root}/training/patientXXX/ (and/or testing/) with '
            f'Info.cfg and patientXXX_frameYY[_gt].nii.gz files{hint}')
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
            f'in <data_root>/{H5_VOLUME_DIR}/patientXXX_frameYY.h5 (set '
            "data_root to that copy, or source='raw' for the NIfTI download)")
    frames: Dict[str, List[Tuple[int, str]]] = {}
    for name in sorted(os.listdir(folder)):
        match = H5_RE.match(name)
        if match:
            frames.setdefault(match.group(1), []).append(
                (int(match.group(2)), os.path.join(folder, name)))
    if not frames:
        raise DataError(f'{folder}: no patientXXX_frameYY.h5 files found')
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
    """Dispatch to :func:`scan_raw` or :func:`scan_ssl4mis_h5` by ``source``."""
    if source == 'raw':
        return scan_raw(data_root)
    if source == 'ssl4mis_h5':
        return scan_ssl4mis_h5(data_root)
    from ideal_mm.errors import ConfigError
    raise ConfigError(f"source={source!r} is not supported; use 'raw' (ACDC "
                      "NIfTI download) or 'ssl4mis_h5' (SSL4MIS h5 copy)")


def _to_dhw(data: np.ndarray, path: str) -> np.ndarray:
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        data = data[..., None]
    if data.ndim != 3:
        raise DataError(
            f'{path}: expected a 3D frame (X, Y, Z), got shape {data.shape}; '
            'pass a single ED/ES frame, not the _4d cine file')
    # (X, Y, Z) -> (Z, X, Y) = (D, H, W), C-contiguous.
    return np.ascontiguousarray(np.transpose(data, (2, 0, 1)))


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


def check_label(arr: np.ndarray, path: str) -> np.ndarray:
    """Return ``arr`` as uint8 after checking its values are in 0..3."""
    arr = np.asarray(arr)
    if arr.dtype.kind == 'f':
        if not np.isfinite(arr).all():
            raise DataError(f'{path}: label map holds NaN/inf values; labels '
                            'must be the integers 0 (bg), 1 (RV), 2 (Myo), 3 (LV)')
        rounded = np.rint(arr)
        non_int = np.unique(arr[rounded != arr])
        if non_int.size:
            raise DataError(
                f'{path}: label map holds non-integer values '
                f'{non_int[:10].tolist()}; labels must be the integers 0 (bg), '
                '1 (RV), 2 (Myo), 3 (LV)')
        arr = rounded
    values = np.unique(arr)
    bad = values[(values < 0) | (values >= NUM_CLASSES)]
    if bad.size:
        raise DataError(
            f'{path}: label values {bad[:10].tolist()} are outside 0..3; '
            'ACDC labels are 0 background, 1 RV, 2 Myo, 3 LV (remap or '
            'replace the label file)')
    return arr.astype(np.uint8)


def read_nifti_frame(path: str,
                     is_label: bool = False) -> Tuple[np.ndarray, Spacing, object]:
    """Read one NIfTI frame as a (D, H, W) array.

    Args:
        path: a ``.nii`` or ``.nii.gz`` file holding one 3D frame (X, Y, Z).
        is_label: read a label map: values checked to be in 0..3, uint8.
            Otherwise the image is float32 and checked to be finite.

    Returns:
        ``(array, spacing, image)``: the array in (D, H, W) = (Z, X, Y)
        order, the spacing ``(sz, sx, sy)`` in mm from the header zooms, and
        the ``nibabel`` image (affine and header, for writing results back).
    """
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError
    if not os.path.isfile(path):
        raise DataError(f'{path}: file not found')
    try:
        image = nib.load(path)
        data = np.asanyarray(image.dataobj)
        zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile, ImageFileError,
            ValueError) as err:
        raise DataError(
            f'{path}: cannot read NIfTI file ({type(err).__name__}: {err}); '
            'the file is truncated or corrupt - download or copy it '
            'again') from err
    data = _to_dhw(np.asarray(data), path)
    while len(zooms) < 3:
        zooms = zooms + (1.0, )
    spacing = (zooms[2], zooms[0], zooms[1])
    arr = check_label(data, path) if is_label else check_image(data, path)
    return arr, spacing, image


def read_h5_volume(path: str,
                   with_label: bool = True
                   ) -> Tuple[np.ndarray, Optional[np.ndarray], Spacing]:
    """Read an SSL4MIS ``patientXXX_frameYY.h5`` volume.

    SSL4MIS stores ``image`` and ``label`` as (D, H, W) arrays (SimpleITK
    order: in-plane axes transposed with respect to nibabel's, which does
    not matter for slice-wise training). No spacing is stored: (1, 1, 1) is
    returned and a warning says once that distances are in voxels.
    """
    import h5py
    global _H5_SPACING_WARNED
    try:
        with h5py.File(path, 'r') as f:
            for key in ('image', 'label') if with_label else ('image', ):
                if key not in f:
                    raise DataError(
                        f'{path}: no dataset {key!r} (found {list(f.keys())}); '
                        'SSL4MIS volumes hold "image" and "label"')
            img = np.asarray(f['image'][()])
            gt = np.asarray(f['label'][()]) if with_label else None
    except DataError:
        raise
    except (OSError, EOFError, KeyError, ValueError) as err:
        raise DataError(f'{path}: cannot read h5 file ({err}); the file is '
                        'truncated or corrupt - copy it again') from err
    if img.ndim != 3:
        raise DataError(f'{path}: image has shape {img.shape}, expected a 3D '
                        '(D, H, W) volume')
    img = check_image(np.ascontiguousarray(img), path)
    if gt is not None:
        gt = check_label(np.ascontiguousarray(gt), path)
    if not _H5_SPACING_WARNED:
        _H5_SPACING_WARNED = True
        warnings.warn(
            'SSL4MIS h5 volumes store no voxel spacing: using (1, 1, 1), so '
            'HD95/ASD are in voxels, not mm (use the raw NIfTI ACDC data '
            "with source='raw' for distances in mm)")
    return img, gt, (1.0, 1.0, 1.0)


def read_frame(frame: FrameFiles,
               with_label: bool) -> Tuple[np.ndarray, Optional[np.ndarray], Spacing]:
    """Read a frame's image (and labels when ``with_label``) and validate them.

    Raises DataError when the labels are needed but missing, or when the
    image and label shapes differ.
    """
    if frame.kind == 'h5':
        img, gt, spacing = read_h5_volume(frame.img_file, with_label)
        gt_path = frame.img_file
    else:
        img, spacing, _ = read_nifti_frame(frame.img_file)
        gt = None
        gt_path = frame.gt_file
        if with_label:
            if frame.gt_file is None:
                expected = os.path.join(
                    os.path.dirname(frame.img_file),
                    os.path.basename(frame.img_file).replace('.nii', '_gt.nii'))
                raise DataError(
                    f'{expected}: label file missing for labelled volume '
                    f'{frame.volume_id}; restore it, or use the patient as '
                    "unlabelled (subset='unlabelled' / a smaller label_budget)")
            gt, _, _ = read_nifti_frame(frame.gt_file, is_label=True)
    if gt is not None and gt.shape != img.shape:
        raise DataError(
            f'{gt_path}: label shape {gt.shape} differs from image shape '
            f'{img.shape} of {frame.img_file} (both (D, H, W)); the label '
            'file must belong to this image')
    return img, gt, spacing
