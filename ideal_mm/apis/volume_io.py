"""Reading a volume to segment: a NIfTI frame, a multi-channel file, the
channel files of an nnU-Net case, or a nibabel image already in memory.

Axis conventions follow ``docs/data_contract.md``: a NIfTI frame (X, Y, Z) is
returned as (D, H, W) = (Z, X, Y).
"""
from __future__ import annotations

import os
from typing import Any, Sequence, Tuple, Union

import numpy as np

from ideal_mm.errors import DataError
from ideal_mm.nifti_names import nifti_stem

__all__ = ['VolumeInput', 'load_volume', 'volume_name']

VolumeInput = Union[str, os.PathLike, Any]  # a path or a nibabel image

#: File name without the ``.nii`` / ``.nii.gz`` extension.
volume_name = nifti_stem


def load_volume(
    volume: Union[VolumeInput, Sequence[str]]
) -> Tuple[np.ndarray, Tuple[float, float, float], Any, str]:
    """Read a volume (path, nibabel image, or channel files) as (D, H, W[, C]).

    ``volume`` is one NIfTI frame (3D; a 4D file with more than one volume
    on its last axis is read as channels, as MSD stores modalities), a
    nibabel image, or a list of one 3D file per channel (nnU-Net's
    ``<case>_0000.nii.gz``, ``<case>_0001.nii.gz``, ...), which must share
    shape and affine.

    Returns ``(array float32 (D, H, W) or (D, H, W, C), spacing (sz, sx, sy),
    image, name)`` where ``image`` is the (first) nibabel image and ``name``
    the file name without ``.nii[.gz]`` (and without ``_0000`` for channel
    lists; ``'volume'`` for an in-memory image). Bad files raise
    :class:`DataError` naming the file.
    """
    from ideal_mm.datasets.io import FrameFiles, read_case
    if isinstance(volume, (list, tuple)):
        paths = [os.fspath(p) for p in volume]
        if not paths:
            raise DataError('an empty list of channel files was given')
        frame = FrameFiles(
            volume_id=volume_name(paths[0]),
            patient_id='',
            frame=None,
            frame_number=None,
            img_file=paths[0],
            gt_file=None,
            kind='case',
            img_files=tuple(paths),
            num_channels=len(paths))
        array, _, spacing = read_case(frame, False, ('background', ))
        import nibabel as nib
        name = volume_name(paths[0])
        if len(paths) > 1 or name.endswith('_0000'):
            name = name[:-5] if name.endswith('_0000') else name
        return array, tuple(spacing), nib.load(paths[0]), name
    if isinstance(volume, (str, os.PathLike)):
        from ideal_mm.datasets.io import read_nifti_frame
        path = os.fspath(volume)
        channels = _file_channels(path)
        if channels > 1:
            frame = FrameFiles(
                volume_id=volume_name(path),
                patient_id='',
                frame=None,
                frame_number=None,
                img_file=path,
                gt_file=None,
                kind='case',
                img_files=(path, ),
                num_channels=channels)
            array, _, spacing = read_case(frame, False, ('background', ))
            import nibabel as nib
            return array, tuple(spacing), nib.load(path), volume_name(path)
        array, spacing, image = read_nifti_frame(path)
        return array, tuple(spacing), image, volume_name(path)
    if not hasattr(volume, 'dataobj') or not hasattr(volume, 'header'):
        raise TypeError('volume must be a NIfTI path or a nibabel image, got '
                        f'{type(volume).__name__}')
    from ideal_mm.datasets.io import check_image
    data = np.asarray(np.asanyarray(volume.dataobj))
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        data = data[..., None]
    name = volume.get_filename() or 'volume'
    if data.ndim != 3:
        raise DataError(f'{name}: expected a 3D frame (X, Y, Z), got shape '
                        f'{data.shape}; pass a single ED/ES frame')
    zooms = [float(z) for z in volume.header.get_zooms()[:3]]
    zooms += [1.0] * (3 - len(zooms))
    array = check_image(
        np.ascontiguousarray(np.transpose(data, (2, 0, 1))), name)
    return array, (zooms[2], zooms[0], zooms[1]), volume, volume_name(name)


def _file_channels(path: str) -> int:
    """Channels of a NIfTI file from its header: the 4th axis of a 4D file
    with more than one volume (MSD), else 1."""
    import nibabel as nib
    try:
        shape = nib.load(path).shape
    except Exception:  # read_nifti_frame reports unreadable files
        return 1
    return int(shape[3]) if len(shape) == 4 and shape[3] > 1 else 1
