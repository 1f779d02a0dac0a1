"""Writing phantom files: byte-reproducible gzip NIfTI, written atomically."""
from __future__ import annotations

import gzip
from typing import Optional, Sequence

import numpy as np

from ideal_mm.atomic_files import atomic_file


def nifti_bytes(arr_dhw: np.ndarray,
                spacing: Sequence[float],
                time_step: Optional[float] = None) -> bytes:
    """Gzip-compressed NIfTI-1 bytes of a (D, H, W) or (T, D, H, W) array.

    Written as (X, Y, Z[, T]) with ``affine = diag(sx, sy, sz, 1)``, header
    zooms, qform and sform (code 1, scanner), units mm / s; the gzip
    timestamp is 0 so equal arrays give equal bytes.
    """
    import nibabel as nib
    sz, sx, sy = (float(s) for s in spacing)
    if arr_dhw.ndim == 4:
        data = np.transpose(arr_dhw, (2, 3, 1, 0))
        zooms = (sx, sy, sz, float(time_step or 1.0))
    else:
        data = np.transpose(arr_dhw, (1, 2, 0))
        zooms = (sx, sy, sz)
    affine = np.diag([sx, sy, sz, 1.0])
    image = nib.Nifti1Image(np.ascontiguousarray(data), affine)
    image.header.set_zooms(zooms)
    image.header.set_xyzt_units('mm', 'sec')
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    return gzip.compress(image.to_bytes(), compresslevel=6, mtime=0)


def _write_bytes(path: str, data: bytes) -> None:
    with atomic_file(path) as f:
        f.write(data)
