"""Let mmengine checkpoints load with ``torch.load(weights_only=True)``.

PyTorch >= 2.6 unpickles with ``weights_only=True`` by default and refuses
every global that is not allow-listed. mmengine 0.10.7 stores a few non-tensor
objects in its checkpoints: the message hub's ``HistoryBuffer`` (which holds
numpy arrays) and numpy scalars in runtime info. Exactly those types are added
with ``torch.serialization.add_safe_globals``; nothing is loaded with
``weights_only=False``.

``HistoryBuffer.__getstate__`` also pickles its statistics methods, which
pickle writes as ``getattr(HistoryBuffer, 'mean')`` and so on. Allow-listing
the builtin ``getattr`` would let a checkpoint fetch any attribute of any
allowed object, so the global ``builtins.getattr`` is instead mapped to
:func:`history_buffer_getattr`, which resolves only those named methods.
"""
from __future__ import annotations

import inspect
import os
import pickle
import re
import struct
import zipfile
from typing import IO, Any, List, Optional, Union

import numpy as np
import torch


def _numpy_globals() -> List[object]:
    """numpy reconstruction helpers and dtypes used when pickling arrays."""
    items: List[object] = [np.ndarray, np.dtype]
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    items += [_reconstruct, scalar]
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25: dtype classes
    if dtypes is not None:
        items += [
            getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')
        ]
    return items


HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def history_buffer_getattr(obj: object, name: str) -> object:
    """``getattr`` restricted to HistoryBuffer's own statistics methods."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while loading a checkpoint: '
        f'only HistoryBuffer statistics methods may be looked up')


def safe_globals() -> List[object]:
    """Every global an mmengine checkpoint of this project may reference."""
    from mmengine.config.config import ConfigDict
    from mmengine.logging.history_buffer import HistoryBuffer

    # bytes: numpy pickles the (empty) buffer of an empty HistoryBuffer
    # array as bytes().
    return [
        HistoryBuffer, ConfigDict, bytes,
        (history_buffer_getattr, 'builtins.getattr')
    ] + _numpy_globals()


def allow_mmengine_checkpoints() -> bool:
    """Allow-list mmengine's checkpoint types; returns False on old PyTorch."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return False
    add(safe_globals())
    return True


# --- every mmengine load of a local file goes through weights_only=True ---

_GLOBAL_RE = re.compile(
    r'(?:unsupported\s+)?GLOBAL\s+([\w.]+)|Unsupported global:\s*'
    r'GLOBAL\s+([\w.]+)|Unsupported operand\s+(\d+)', re.IGNORECASE)


def _refused_object(err: BaseException) -> str:
    """The global (e.g. ``posix.system``) named in torch's refusal, if any."""
    match = _GLOBAL_RE.search(str(err))
    if match is None:
        return ''
    name = next(g for g in match.groups() if g)
    return name if not name.isdigit() else f'pickle opcode {name}'


# What torch.load raises for a file that is not a (complete) checkpoint:
# a cut zip archive (RuntimeError), an empty file (EOFError), bytes that are no
# pickle (UnpicklingError, KeyError, struct.error), ...
_CORRUPT_FILE_ERRORS = (EOFError, zipfile.BadZipFile, RuntimeError, ValueError,
                        KeyError, IndexError, struct.error)


def load_checkpoint_file(filename: Union[str, 'os.PathLike[str]', IO[bytes]],
                         map_location: Any = None,
                         source: Optional[str] = None) -> Any:
    """``torch.load(..., weights_only=True)`` with errors a user can act on.

    Only tensors, containers, Python scalars and the types of
    :func:`safe_globals` are unpickled; whatever else the pickle asks for
    (a function to call, a class to build) is refused before it runs.

    Every error keeps the type torch raised, so callers that catch the
    library's exceptions still catch them; ideal_mm's subclasses only add a
    message that names the file and the fix.

    Raises:
        CheckpointUnsafeError: (a ``pickle.UnpicklingError``) the file holds
            objects outside the allow-list ("refusing to load ...").
        CheckpointCorruptError: the file is truncated or not a PyTorch
            checkpoint; also an instance of what torch raised (see
            :func:`ideal_mm.errors.corrupt_checkpoint_error`).
        CheckpointError: this PyTorch cannot load with ``weights_only``.
        OSError: as ``open`` raises it (missing file, no permission).
    """
    from ..errors import (CheckpointError, CheckpointUnsafeError,
                          corrupt_checkpoint_error)
    name = source or (str(filename)
                      if not hasattr(filename, 'read') else '<stream>')
    if 'weights_only' not in inspect.signature(torch.load).parameters:
        raise CheckpointError(
            f'refusing to load {name}: this PyTorch ({torch.__version__}) '
            'cannot restrict unpickling (torch.load has no weights_only); '
            'install torch >= 2.4')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        what = _refused_object(err)
        if what.startswith('pickle opcode'):
            # not a global torch refused: bytes that are no pickle at all
            raise corrupt_checkpoint_error(
                f'cannot read {name} as a PyTorch checkpoint ({what} is not '
                'valid here); the file is truncated, corrupt or not a '
                'checkpoint', type(err)) from None
        what = f' ({what})' if what else ''
        raise CheckpointUnsafeError(
            f'refusing to load {name}: it contains code/objects outside the '
            f'allow-list{what}; nothing in it was run. Checkpoints are read '
            'with torch.load(weights_only=True): ask its source for a plain '
            'state dict of tensors') from None
    except _CORRUPT_FILE_ERRORS as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else ''
        kind = type(err).__qualname__
        if type(err).__module__ != 'builtins':
            kind = f'{type(err).__module__}.{kind}'  # e.g. struct.error
        detail = f'{kind}: {first}' if first else kind
        raise corrupt_checkpoint_error(
            f'cannot read {name} as a PyTorch checkpoint ({detail}); the '
            'file is truncated, corrupt or not a checkpoint',
            type(err)) from None


def _load_from_local(filename: str, map_location: Any = None) -> Any:
    """mmengine's local-file checkpoint loader, with weights_only=True.

    A missing file raises :class:`~ideal_mm.errors.CheckpointNotFoundError`,
    a ``FileNotFoundError`` as mmengine's loader raises.
    """
    from ..errors import CheckpointNotFoundError
    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise CheckpointNotFoundError(
            f'checkpoint {filename!r} does not exist; check the path (for '
            '--resume, the work dir\'s last_checkpoint file names it)')
    return load_checkpoint_file(filename, map_location)


def install_safe_local_loader() -> None:
    """Route mmengine's local checkpoint loads through
    :func:`load_checkpoint_file`.

    ``Runner.resume``, ``load_from``, ``init_cfg=dict(type='Pretrained')``
    and ``_load_checkpoint`` all read local files through
    ``CheckpointLoader``'s scheme for the empty prefix, whose loader calls
    ``torch.load`` without ``weights_only`` (safe by default only on
    torch >= 2.6). mmengine's own extension point
    (``CheckpointLoader.register_scheme(..., force=True)``) replaces that one
    loader; remote schemes (http, open-mmlab://) are left as they are.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_from_local, force=True)
