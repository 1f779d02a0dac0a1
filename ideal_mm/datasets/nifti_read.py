"""Reading NIfTI volumes: one frame (ACDC layout) or a generic multi-channel
case.

Arrays come back in ideal_mm's (D, H, W) = (Z, X, Y) order with the spacing
``(sz, sx, sy)`` in mm. A generic case (nnU-Net, MSD: ``FrameFiles.kind ==
'case'``) is strictly checked: 3D volumes only, positive finite spacing, equal
shapes and affines of channels and labels, label values in the data set's
classes after an optional ``label_map``.
"""
from __future__ import annotations

import gzip
import os
import zlib
from typing import List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ideal_mm.errors import DataError
from .checks import check_image, check_label
from .records import FrameFiles, Spacing

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


def read_nifti_frame(
        path: str,
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
    data, image = _load_nifti(path)
    zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    data = _to_dhw(data, path)
    while len(zooms) < 3:
        zooms = zooms + (1.0, )
    spacing = (zooms[2], zooms[0], zooms[1])
    arr = check_label(data, path) if is_label else check_image(data, path)
    return arr, spacing, image


def read_nifti_raw_label(path: str, classes: Sequence[str],
                         label_map: Optional[Mapping[int, int]]) -> np.ndarray:
    """An ACDC-layout label frame (D, H, W) checked against ``classes`` /
    ``label_map`` (uint8 class indices)."""
    data, _ = _load_nifti(path)
    return check_label(_to_dhw(data, path), path, classes, label_map)


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
        'volume (X, Y, Z)' +
        (' or a 4D multi-channel volume (X, Y, Z, C)' if multi_channel else ''
         ) +
        '; give one 3D volume per file (2D slices: stack them into a volume)')


def read_case(
    frame: FrameFiles,
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
            _check_same_grid(path, parts[0].shape, affine, ref_path, ref_shape,
                             ref_affine)
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
        gt = check_label(
            np.ascontiguousarray(np.transpose(data, (2, 0, 1))), frame.gt_file,
            classes, label_map)
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
