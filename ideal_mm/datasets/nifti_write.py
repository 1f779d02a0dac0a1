"""Writing label volumes as NIfTI with a reference image's geometry."""
from __future__ import annotations

import os.path as osp
from typing import Optional, Sequence

import numpy as np

from ideal_mm.atomic_files import atomic_path
from ideal_mm.nifti_names import is_nifti


def write_label_nifti(labels: np.ndarray, reference, out_file: str) -> None:
    """Write uint8 labels with ``reference``'s affine and header, atomically.

    The header is copied (qform and sform with their codes, zooms, units,
    description); the data type becomes uint8 and scaling is reset
    (``scl_slope`` 1, ``scl_inter`` 0).
    """
    import nibabel as nib
    header = reference.header.copy()
    image = type(reference)(
        np.asarray(labels, dtype=np.uint8), None, header=header)
    image.set_data_dtype(np.uint8)
    image.header.set_slope_inter(1.0, 0.0)
    if hasattr(reference, 'get_qform'):
        qcode = int(reference.header['qform_code'])
        scode = int(reference.header['sform_code'])
        image.set_qform(reference.get_qform(), code=qcode)
        image.set_sform(reference.get_sform(), code=scode)
    ext = '.nii.gz' if out_file.endswith('.nii.gz') else '.nii'
    with atomic_path(out_file, suffix='.tmp' + ext) as tmp:
        nib.save(image, tmp)


def write_label_nifti_like_source(
        labels_dhw: np.ndarray,
        out_file: str,
        source: Optional[str] = None,
        spacing: Optional[Sequence[float]] = None) -> None:
    """Write a (D, H, W) label volume as NIfTI (X, Y, Z), atomically.

    With ``source`` (the original NIfTI frame) its affine and header are
    used; otherwise a diagonal affine from ``spacing`` = (sz, sx, sy).
    """
    import nibabel as nib
    labels = np.transpose(np.asarray(labels_dhw, dtype=np.uint8), (1, 2, 0))
    if source and osp.isfile(source) and is_nifti(source):
        reference = nib.load(source)
    else:
        sz, sx, sy = (tuple(spacing) if spacing is not None else (1., 1., 1.))
        reference = nib.Nifti1Image(labels, np.diag([sx, sy, sz, 1.0]))
    write_label_nifti(labels, reference, out_file)
