"""Reading and validating volume files: ACDC ``Info.cfg`` / frames / SSL4MIS h5, NIfTI cases.

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

Any other NIfTI data set (nnU-Net, Medical Segmentation Decathlon, ...) is
read through :func:`read_case` (``FrameFiles.kind == 'case'``): one file per
channel or one 4D multi-channel file, strictly checked (3D volumes only,
positive finite spacing, equal shapes and affines of channels and labels,
label values in the data set's classes after an optional ``label_map``).
"""
from __future__ import annotations

import gzip
import os
import re
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ideal_mm.errors import DataError

#: Class names of ACDC by label value: 0 background, 1 RV, 2 Myo, 3 LV.
ACDC_CLASSES = ('background', 'RV', 'Myo', 'LV')
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
    live in the same file. ``kind='case'`` is a generic NIfTI case
    (nnU-Net, MSD): ``img_files`` lists its channel files in channel order
    (``img_file`` is the first), or holds one 4D file whose last axis is
    the channels; ``num_channels`` is the count the data set declares.
    ``frame`` / ``frame_number`` are ACDC's ED/ES (None elsewhere).
    """

    volume_id: str
    patient_id: str
    frame: Optional[str]  # 'ED' or 'ES' (ACDC); None for other data sets
    frame_number: Optional[int]
    img_file: str
    gt_file: Optional[str]
    kind: str  # 'nifti' or 'h5' (ACDC), 'case' (generic NIfTI)
    img_files: Tuple[str, ...] = ()
    num_channels: int = 1


@dataclass
class PatientRecord:
    """A patient (the unit of splits and budgets): its group and volumes.

    ACDC: the ED and ES frames. ``labelled=False`` marks a patient whose
    volumes have no label file by construction (nnU-Net ``imagesTs``, MSD
    ``test``): it is kept out of the split and joins the unlabelled train
    pool (:class:`~ideal_mm.datasets.volume_dataset.VolumeSegDataset`).
    """

    patient_id: str
    folder: str
    group: Optional[str]
    frames: List[FrameFiles] = field(default_factory=list)
    info: Dict[str, str] = field(default_factory=dict)
    labelled: bool = True


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


def check_label(arr: np.ndarray, path: str,
                classes: Sequence[str] = ACDC_CLASSES,
                label_map: Optional[Mapping[int, int]] = None) -> np.ndarray:
    """Return ``arr`` as uint8 after checking its values are class indices.

    Values must be integers in ``0..len(classes) - 1`` (after ``label_map``
    when given, see :func:`apply_label_map`). The messages for ACDC (the
    default classes) are those of ACDC's label values.
    """
    acdc = tuple(classes) == ACDC_CLASSES and not label_map
    hint = ('0 (bg), 1 (RV), 2 (Myo), 3 (LV)' if acdc else
            f'0..{len(classes) - 1} ({_class_text(classes)})')
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
               with_label: bool,
               classes: Sequence[str] = ACDC_CLASSES,
               label_map: Optional[Mapping[int, int]] = None
               ) -> Tuple[np.ndarray, Optional[np.ndarray], Spacing]:
    """Read a frame's image (and labels when ``with_label``) and validate them.

    ``classes`` (names by label value) and ``label_map`` (raw value ->
    class index) define the valid label values; the defaults are ACDC's.
    Raises DataError when the labels are needed but missing, or when the
    image and label shapes differ. ``kind='case'`` goes to :func:`read_case`.
    """
    if frame.kind == 'case':
        return read_case(frame, with_label, classes, label_map)
    if frame.kind == 'h5':
        img, gt, spacing = read_h5_volume(frame.img_file, with_label)
        gt_path = frame.img_file
        if gt is not None and (label_map or tuple(classes) != ACDC_CLASSES):
            gt = check_label(gt, gt_path, classes, label_map)
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
            if label_map or tuple(classes) != ACDC_CLASSES:
                gt = read_nifti_raw_label(frame.gt_file, classes, label_map)
            else:
                gt, _, _ = read_nifti_frame(frame.gt_file, is_label=True)
    if gt is not None and gt.shape != img.shape:
        raise DataError(
            f'{gt_path}: label shape {gt.shape} differs from image shape '
            f'{img.shape} of {frame.img_file} (both (D, H, W)); the label '
            'file must belong to this image')
    return img, gt, spacing


def read_nifti_raw_label(path: str, classes: Sequence[str],
                         label_map: Optional[Mapping[int, int]]) -> np.ndarray:
    """An ACDC-layout label frame (D, H, W) checked against ``classes`` /
    ``label_map`` (uint8 class indices)."""
    data, _ = _load_nifti(path)
    return check_label(_to_dhw(data, path), path, classes, label_map)


# --------------------------------------------------------------------------
# generic NIfTI cases (nnU-Net, MSD, converted data sets)
# --------------------------------------------------------------------------
#: Tolerance of the affine comparison between channels and labels (mm).
AFFINE_ATOL = 1e-3


def _load_nifti(path: str) -> Tuple[np.ndarray, object]:
    """The raw array (file axis order) and the nibabel image of ``path``."""
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError
    if not os.path.isfile(path):
        raise DataError(f'{path}: file not found')
    try:
        image = nib.load(path)
        data = np.asarray(np.asanyarray(image.dataobj))
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile, ImageFileError,
            ValueError) as err:
        raise DataError(
            f'{path}: cannot read NIfTI file ({type(err).__name__}: {err}); '
            'the file is truncated or corrupt - download or copy it '
            'again') from err
    return data, image


def nifti_spacing(image: object, path: str) -> Spacing:
    """Voxel spacing ``(sz, sx, sy)`` in mm of a 3D/4D NIfTI; 0 / NaN refused.

    The header is read again without nibabel's fixes (which silently turn a
    pixdim of 0 into 1 mm), so a broken spacing is reported, not guessed.
    """
    zooms = [float(z) for z in image.header.get_zooms()[:3]]
    try:
        from nibabel.openers import ImageOpener
        with ImageOpener(path) as f:
            raw = type(image.header).from_fileobj(f, check=False)
    except Exception:  # not a plain NIfTI header: keep nibabel's zooms
        raw = None
    if raw is not None:
        zooms = [float(z) for z in raw['pixdim'][1:1 + min(3, len(zooms))]]
    if len(zooms) < 3 or not all(np.isfinite(z) and z > 0 for z in zooms):
        raise DataError(
            f'{path}: voxel spacing {tuple(zooms)} (header pixdim) must hold '
            'three positive finite values; fix the header (e.g. re-export '
            'the image, or set pixdim with nibabel) - distances in mm need it')
    return (zooms[2], zooms[0], zooms[1])


def _volume_channels(data: np.ndarray, path: str,
                     multi_channel: bool) -> List[np.ndarray]:
    """Split a file's array into 3D (X, Y, Z) channels; 2D / 5D refused."""
    if data.ndim == 4 and (multi_channel or data.shape[3] == 1):
        return [data[..., c] for c in range(data.shape[3])]
    if data.ndim == 3:
        return [data]
    raise DataError(
        f'{path}: array of shape {data.shape} ({data.ndim}D) is not a 3D '
        'volume (X, Y, Z)' + (' or a 4D multi-channel volume (X, Y, Z, C)'
                              if multi_channel else '') +
        '; give one 3D volume per file (2D slices: stack them into a volume)')


def read_case(frame: FrameFiles,
              with_label: bool,
              classes: Sequence[str],
              label_map: Optional[Mapping[int, int]] = None
              ) -> Tuple[np.ndarray, Optional[np.ndarray], Spacing]:
    """Read a generic NIfTI case: image (D, H, W) or (D, H, W, C), labels.

    ``frame.img_files`` holds one 3D file per channel (nnU-Net) or one file
    whose 4th axis is the channels (MSD). Checked, each failure a DataError
    naming the file: the channel count equals ``frame.num_channels``; every
    volume is 3D with positive finite spacing; all channels and the label
    map share shape and affine (within ``AFFINE_ATOL``); label values are
    in ``0..len(classes) - 1`` after ``label_map``.
    """
    files = frame.img_files or (frame.img_file, )
    channels: List[np.ndarray] = []
    ref_affine = ref_shape = None
    ref_path = files[0]
    spacing: Optional[Spacing] = None
    for path in files:
        data, image = _load_nifti(path)
        parts = _volume_channels(data, path, multi_channel=len(files) == 1)
        sp = nifti_spacing(image, path)
        affine = np.asarray(image.affine, dtype=np.float64)
        if ref_affine is None:
            ref_affine, ref_shape, spacing = affine, parts[0].shape, sp
        else:
            _check_same_grid(path, parts[0].shape, affine, ref_path,
                             ref_shape, ref_affine)
        channels.extend(check_image(p, path) for p in parts)
    if len(channels) != frame.num_channels:
        raise DataError(
            f'{files[0]}: case {frame.volume_id} has {len(channels)} '
            f'channel(s) but the data set declares {frame.num_channels} '
            '(dataset.json channel_names / modality); add the missing '
            'channel files (<case>_0001.nii.gz, ...) or fix dataset.json')
    img = np.stack([np.transpose(c, (2, 0, 1)) for c in channels], axis=-1)
    img = np.ascontiguousarray(img[..., 0] if img.shape[-1] == 1 else img)
    gt = None
    if with_label:
        if frame.gt_file is None:
            raise DataError(
                f'{frame.img_file}: case {frame.volume_id} has no label file '
                '(labelsTr/<case>.nii.gz); add it, or leave the case '
                "unlabelled (subset='unlabelled' / a smaller label_budget)")
        data, image = _load_nifti(frame.gt_file)
        if data.ndim == 4 and data.shape[3] == 1:
            data = data[..., 0]
        if data.ndim != 3:
            raise DataError(
                f'{frame.gt_file}: label map of shape {data.shape} is not a '
                '3D volume (X, Y, Z); give one 3D label map per case')
        nifti_spacing(image, frame.gt_file)
        _check_same_grid(frame.gt_file, data.shape,
                         np.asarray(image.affine, dtype=np.float64), ref_path,
                         ref_shape, ref_affine)
        gt = check_label(np.ascontiguousarray(np.transpose(data, (2, 0, 1))),
                         frame.gt_file, classes, label_map)
    return img, gt, spacing


def _check_same_grid(path: str, shape: tuple, affine: np.ndarray,
                     ref_path: str, ref_shape: tuple,
                     ref_affine: np.ndarray) -> None:
    if tuple(shape) != tuple(ref_shape):
        raise DataError(
            f'{path}: shape {tuple(shape)} differs from {tuple(ref_shape)} of '
            f'{ref_path}; every channel and the label map of a case must be '
            'on the same voxel grid (resample them, e.g. with SimpleITK)')
    if not np.allclose(affine, ref_affine, atol=AFFINE_ATOL, rtol=0):
        raise DataError(
            f'{path}: affine differs from that of {ref_path} (max difference '
            f'{float(np.abs(affine - ref_affine).max()):.4g}); the image '
            'channels and label map of a case must share their geometry '
            '(resample, or copy the header if only the header is wrong)')
