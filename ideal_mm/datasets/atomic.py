"""Writing a file whole or not at all: a temporary file in the same folder, then ``os.replace``.

Used by the volume cache and the phantom writers; a failed write leaves no
temporary file behind.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Iterator

import numpy as np


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Mode of files written here (mkstemp creates 0600; follow the umask instead).
FILE_MODE = 0o666 & ~_current_umask()


# engine/export_encoder.py writes encoder.pth with the same steps (no chmod); it could call this
@contextlib.contextmanager
def atomic_file(path: str) -> Iterator[object]:
    """Open a temporary file next to ``path``; replace ``path`` on success."""
    folder = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix='.' + os.path.basename(path) + '.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            yield f
            f.flush()
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def atomic_save_npy(path: str, arr: np.ndarray) -> None:
    """``np.save`` through a temporary file and ``os.replace``."""
    with atomic_file(path) as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)


def atomic_write_json(path: str, obj: dict) -> None:
    """Write JSON through a temporary file and ``os.replace``."""
    with atomic_file(path) as f:
        f.write(json.dumps(obj, indent=1, sort_keys=True).encode('utf-8'))
