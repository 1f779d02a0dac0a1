"""Let mmengine checkpoints load with ``torch.load(weights_only=True)``.

PyTorch >= 2.6 unpickles with ``weights_only=True`` by default and refuses every
global that is not allow-listed. mmengine 0.10.7 stores a few non-tensor objects
in its checkpoints: the message hub's ``HistoryBuffer`` (which holds numpy
arrays) and numpy scalars in runtime info. Exactly those types are added with
``torch.serialization.add_safe_globals``; nothing is loaded with
``weights_only=False``.

``HistoryBuffer.__getstate__`` also pickles its statistics methods, which
pickle writes as ``getattr(HistoryBuffer, 'mean')`` and so on. Allow-listing
the builtin ``getattr`` would let a checkpoint fetch any attribute of any
allowed object, so the global ``builtins.getattr`` is instead mapped to
:func:`history_buffer_getattr`, which resolves only those named methods.
"""
from __future__ import annotations

import pickle
from typing import List

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
        items += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
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
    from mmengine.logging.history_buffer import HistoryBuffer
    from mmengine.config.config import ConfigDict
    return [HistoryBuffer, ConfigDict, (history_buffer_getattr,
                                        'builtins.getattr')] + _numpy_globals()


def allow_mmengine_checkpoints() -> bool:
    """Allow-list mmengine's checkpoint types; returns False on old PyTorch."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return False
    add(safe_globals())
    return True
