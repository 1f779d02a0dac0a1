"""Writing an output file whole or not at all: a temporary file in the
target's folder, renamed over the target once it is complete (DESIGN:
"Nothing is written half"). The one implementation for the volume cache, the
phantom writers, reports, figures, NIfTI predictions and exported encoders.
"""
from __future__ import annotations

import contextlib
import json
import os
import os.path as osp
import tempfile
from typing import IO, Iterator

import numpy as np

__all__ = [
    'FILE_MODE', 'atomic_path', 'atomic_file', 'atomic_write_text',
    'atomic_write_json', 'atomic_save_npy'
]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Mode of the files written here: mkstemp creates 0600, a finished output
#: follows the umask as ``open`` would (0644 under the usual umask 022).
FILE_MODE = 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_path(path: str, suffix: str = '.tmp') -> Iterator[str]:
    """Yield a temporary path next to ``path``; on success it becomes
    ``path`` (mode :data:`FILE_MODE`) by ``os.replace``, on any error it is
    removed.

    ``suffix`` ends the temporary name (writers that pick the format from the
    extension, such as nibabel, need e.g. ``'.tmp.nii.gz'``). The folder is
    created when missing.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def atomic_file(path: str, mode: str = 'wb') -> Iterator[IO]:
    """An open file (``mode`` 'wb' or 'w') that replaces ``path`` when the
    block ends without an error."""
    with atomic_path(path) as tmp:
        kwargs = {} if 'b' in mode else dict(encoding='utf-8', newline='')
        with open(tmp, mode, **kwargs) as f:
            yield f


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all."""
    with atomic_file(path, 'w') as f:
        f.write(text)


def atomic_write_json(path: str, obj: dict) -> None:
    """Write ``obj`` as sorted, indented JSON whole or not at all."""
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True))


def atomic_save_npy(path: str, arr: np.ndarray) -> None:
    """``np.save`` (no pickles) whole or not at all."""
    with atomic_file(path) as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
