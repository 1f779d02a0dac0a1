"""NIfTI file names: the ``.nii`` / ``.nii.gz`` extensions and the stem.

One place for the extension rule that inference, evaluation and the data
tools share (a low layer, so that every other part may import it).
"""
from __future__ import annotations

import os

#: NIfTI file extensions, the longer first (``.nii.gz`` ends with ``.gz``).
NIFTI_EXTS = ('.nii.gz', '.nii')


def is_nifti(path: str) -> bool:
    """True for ``.nii`` / ``.nii.gz`` file names."""
    return os.fspath(path).endswith(NIFTI_EXTS)


def nifti_stem(path: str) -> str:
    """File name without folder and NIfTI extension (other names unchanged):
    ``a/patient001_frame01.nii.gz`` -> ``patient001_frame01``."""
    base = os.path.basename(os.fspath(path))
    for ext in NIFTI_EXTS:
        if base.endswith(ext):
            return base[:-len(ext)]
    return base
