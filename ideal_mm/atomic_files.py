"""Writing an output file whole or not at all: a temporary file in the
target's folder, renamed over the target once it is complete (DESIGN:
"Nothing is written half").
"""
from __future__ import annotations

import contextlib
import os
import os.path as osp
import tempfile
from typing import Iterator

__all__ = ['atomic_path', 'atomic_write_text']


@contextlib.contextmanager
def atomic_path(path: str, suffix: str = '.tmp') -> Iterator[str]:
    """Yield a temporary path next to ``path``; on success it becomes
    ``path`` (mode 0644) by ``os.replace``, on any error it is removed.

    ``suffix`` ends the temporary name (writers that pick the format from the
    extension, such as nibabel, need e.g. ``'.tmp.nii.gz'``). The folder is
    created when missing.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(path)}.',
                               suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_path`."""
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
