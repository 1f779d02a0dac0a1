"""Normalised, memory-mappable copies of 3D volumes (the volume cache).

NIfTI frames are gzip-compressed, so reading one slice means decompressing
the whole volume. ``VolumeSegDataset`` (ACDC, nnU-Net, MSD) therefore
converts every volume it uses once into ``<cache_dir>/<volume_id>_img.npy``
(float32, (D, H, W), or (D, H, W, C) for multi-channel cases, normalised per
volume and channel), ``<volume_id>_gt.npy`` (uint8) and ``<volume_id>.json``
(spacing,
shape, source files with size and mtime, normalisation); a data loader worker
then reads one slice with ``np.load(path, mmap_mode='r')``. Neither mmengine
nor mmseg has such a cache (mmseg reads whole files per sample), hence this
module.

Guarantees:

* every file goes through a temporary file in the same folder and
  ``os.replace``; the json is written last and marks a complete volume, and
  failed writes leave no temporary file;
* a volume is rebuilt when a source file's size or mtime changes, when the
  normalisation differs, or when labels are needed but were not cached;
* an exclusive ``fcntl.flock`` on ``<cache_dir>/.lock`` serialises builders,
  so several processes (data-parallel ranks) building at once produce one
  correct cache; temporary files of a builder that was killed are removed
  by the next one (under the lock).

Normalisation is in :mod:`.normalize`, the atomic writes in
:mod:`ideal_mm.atomic_files`
(both re-exported here).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from typing import Callable, Dict, Iterator, Optional, Sequence, Set, Tuple

import numpy as np

# yapf: disable
from ideal_mm.atomic_files import (FILE_MODE, atomic_file,  # noqa: F401
                                   atomic_save_npy, atomic_write_json)
from ideal_mm.errors import ConfigError, DataError
from .io import FrameFiles, read_frame
from .normalize import (IMAGE_NORMALIZE_MODES, NORMALIZE_MODES,  # noqa: F401
                        check_window, normalize_image, normalize_volume)

# yapf: enable

try:  # POSIX only; elsewhere builders are not serialised.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

CACHE_VERSION = 1
LOCK_NAME = '.lock'


def _probe_writable(folder: str) -> bool:
    """True when ``folder`` can be created and a file written into it."""
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(
            dir=folder, prefix='.probe', suffix='.tmp')
        os.close(fd)
        os.remove(probe)
        return True
    except OSError:
        return False


def default_cache_dir(data_root: str, source: str, normalize: str) -> str:
    """``<data_root>/.ideal_mm_cache/<source>-<normalize>``, or a user cache.

    When ``data_root`` is not writable the cache goes to
    ``~/.cache/ideal_mm/<hash of the absolute data_root>/<source>-<normalize>``
    and a log line says so.
    """
    name = f'{source}-{normalize}'
    preferred = os.path.join(data_root, '.ideal_mm_cache', name)
    if _probe_writable(preferred):
        return preferred
    digest = hashlib.sha1(
        os.path.abspath(data_root).encode('utf-8')).hexdigest()[:16]
    fallback = os.path.join(
        os.path.expanduser('~'), '.cache', 'ideal_mm', digest, name)
    from mmengine.logging import print_log
    print_log(
        f'{data_root} is not writable: the ACDC volume cache goes to '
        f'{fallback} (set cache_dir to choose another folder)',
        logger='current')
    return fallback


def cache_paths(cache_dir: str, volume_id: str) -> Dict[str, str]:
    """Paths of a volume's cache files: keys ``img``, ``gt``, ``meta``."""
    return dict(
        img=os.path.join(cache_dir, f'{volume_id}_img.npy'),
        gt=os.path.join(cache_dir, f'{volume_id}_gt.npy'),
        meta=os.path.join(cache_dir, f'{volume_id}.json'))


def cached_source_image(seg_map_path: str) -> Optional[str]:
    """The source image file recorded in the cache meta file next to a
    cached ``<volume_id>_gt.npy``; None when there is none."""
    if not seg_map_path.endswith('_gt.npy'):
        return None
    meta_file = seg_map_path[:-len('_gt.npy')] + '.json'
    if not os.path.isfile(meta_file):
        return None
    with open(meta_file, encoding='utf-8') as f:
        return json.load(f).get('sources', {}).get('img', {}).get('path')


def _stat(path: str) -> dict:
    st = os.stat(path)
    return dict(
        path=os.path.abspath(path), size=st.st_size, mtime_ns=st.st_mtime_ns)


def source_stats(frame: FrameFiles, with_label: bool) -> dict:
    """Size and mtime of the files a cached volume is built from."""
    stats = dict(img=_stat(frame.img_file))
    for i, path in enumerate(frame.img_files[1:], 1):  # further channels
        stats[f'img_{i}'] = _stat(path)
    if with_label and frame.gt_file is not None:
        stats['gt'] = _stat(frame.gt_file)
    return stats


def load_valid_meta(cache_dir: str, frame: FrameFiles, normalize: str,
                    with_label: bool) -> Optional[dict]:
    """The volume's cache meta when the cache is complete and current."""
    paths = cache_paths(cache_dir, frame.volume_id)
    try:
        with open(paths['meta'], encoding='utf-8') as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    try:
        if (meta.get('version') != CACHE_VERSION
                or meta.get('normalize') != normalize
                or meta['sources']['img'] != _stat(frame.img_file)
                or not os.path.isfile(paths['img'])):
            return None
        for i, path in enumerate(frame.img_files[1:], 1):
            if meta['sources'].get(f'img_{i}') != _stat(path):
                return None
        if with_label:
            if (not meta.get('has_gt') or frame.gt_file is None
                    or meta['sources'].get('gt') != _stat(frame.gt_file)
                    or not os.path.isfile(paths['gt'])):
                return None
    except (OSError, KeyError, TypeError):
        return None
    return meta


@contextlib.contextmanager
def cache_lock(cache_dir: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<cache_dir>/.lock`` (POSIX)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(
        os.path.join(cache_dir, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


_TEMP_NAME = re.compile(r'^\..+\.(npy|json)\..+\.tmp$')


def remove_stale_temps(cache_dir: str) -> int:
    """Delete temporary files a killed builder left; returns how many.

    Call with :func:`cache_lock` held: builders write only under the lock,
    so every ``.<file>.npy.*.tmp`` / ``.<file>.json.*.tmp`` then present
    belongs to a process that died (e.g. SIGKILL) before its rename.
    """
    removed = 0
    for name in os.listdir(cache_dir):
        if _TEMP_NAME.match(name):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(cache_dir, name))
                removed += 1
    return removed


#: ``prepare(frame, with_label) -> (normalised image, labels or None,
#: spacing)``: how a data set reads and normalises one volume.
Prepare = Callable[[FrameFiles, bool], Tuple[np.ndarray, Optional[np.ndarray],
                                             Tuple[float, float, float]]]


def build_volume(frame: FrameFiles,
                 cache_dir: str,
                 normalize: str,
                 with_label: bool,
                 prepare: Optional[Prepare] = None) -> dict:
    """Read, validate, normalise and write one volume; returns its meta.

    Everything is read and checked before the first write, and the old json
    is removed first, so a failure never leaves a volume that looks complete.
    ``prepare`` reads and normalises (default: ACDC's :func:`read_frame` and
    :func:`normalize_volume` with mode ``normalize``); ``normalize`` is then
    the tag stored in the meta that later builds must match.
    """
    stats = source_stats(frame, with_label)
    if prepare is None:
        img, gt, spacing = read_frame(frame, with_label)
        img = normalize_volume(img, normalize)
    else:
        img, gt, spacing = prepare(frame, with_label)
    paths = cache_paths(cache_dir, frame.volume_id)
    with contextlib.suppress(FileNotFoundError):
        os.remove(paths['meta'])
    atomic_save_npy(paths['img'], img)
    if gt is not None:
        atomic_save_npy(paths['gt'], gt)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(paths['gt'])
    meta = dict(
        version=CACHE_VERSION,
        volume_id=frame.volume_id,
        patient_id=frame.patient_id,
        frame=frame.frame,
        frame_number=frame.frame_number,
        shape=list(img.shape),
        spacing=[float(s) for s in spacing],
        normalize=normalize,
        has_gt=gt is not None,
        kind=frame.kind,
        sources=stats)
    if frame.kind == 'case':
        meta['channels'] = int(img.shape[3]) if img.ndim == 4 else 1
    atomic_write_json(paths['meta'], meta)
    return meta


def build_volume_cache(frames: Sequence[FrameFiles],
                       cache_dir: str,
                       normalize: str = 'minmax',
                       need_label: Optional[Set[str]] = None,
                       progress: bool = True,
                       prepare: Optional[Prepare] = None,
                       name: str = 'ACDC') -> Dict[str, dict]:
    """Make sure every frame is cached and current; returns metas by volume id.

    Args:
        frames: the volumes to cache.
        cache_dir: target folder (created if needed).
        normalize: ``'minmax'`` or ``'zscore'`` (see :func:`normalize_volume`).
        need_label: volume ids whose labels are cached too; the others are
            built from the image alone and their label file is never read.
        progress: show a tqdm bar while building.
        prepare: reads and normalises a volume (see :func:`build_volume`);
            ``normalize`` is then a free-form tag of that normalisation.
        name: the data set's name in log lines.
    """
    if prepare is None and normalize not in NORMALIZE_MODES:
        raise ConfigError(f'normalize={normalize!r} is not supported; use one '
                          f'of {NORMALIZE_MODES}')
    need_label = set(need_label or ())
    metas: Dict[str, dict] = {}

    def pending() -> list:
        todo = []
        for frame in frames:
            meta = load_valid_meta(cache_dir, frame, normalize, frame.volume_id
                                   in need_label)
            if meta is None:
                todo.append(frame)
            else:
                metas[frame.volume_id] = meta
        return todo

    try:
        os.makedirs(cache_dir, exist_ok=True)
    except OSError as err:
        raise DataError(f'cache_dir {cache_dir!r} cannot be created ({err}); '
                        'set cache_dir to a writable folder') from err
    if not pending():
        return metas
    with cache_lock(cache_dir):
        remove_stale_temps(cache_dir)
        todo = pending()  # another process may have built them meanwhile
        if todo:
            from mmengine.logging import print_log

            from ideal_mm.progress import progress_bar
            print_log(
                f'caching {len(todo)} {name} volume(s) in {cache_dir}',
                logger='current')
            for frame in progress_bar(
                    todo,
                    desc=f'{name} volume cache',
                    unit='vol',
                    disable=not progress):
                metas[frame.volume_id] = build_volume(
                    frame, cache_dir, normalize, frame.volume_id in need_label,
                    prepare)
    return metas
