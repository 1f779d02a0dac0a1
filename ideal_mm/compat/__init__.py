"""The only place where ideal_mm adapts third-party behaviour.

* :func:`install_mmcv_ops_stand_in` - when mmcv has no compiled extension
  (mmcv-lite), put a pure-PyTorch ``mmcv.ops`` in ``sys.modules`` before mmseg
  is imported (see :mod:`ideal_mm.compat.mmcv_ops`). With a compiled mmcv,
  nothing is patched.
* :func:`allow_mmengine_checkpoints` - allow-list the types stored in mmengine
  checkpoints so they load with ``weights_only=True``.
* :func:`install_safe_local_loader` - mmengine's local-file checkpoint loader
  (resume, load_from, Pretrained init) calls ``torch.load(weights_only=True)``
  explicitly, on every torch version; its errors carry a message that names
  the file and the fix.

All run when ``ideal_mm`` is imported. Whatever is taken over keeps the
library's exception types, so code written against mmcv/mmengine/torch catches
the same exceptions with ideal_mm imported: a missing checkpoint is a
``FileNotFoundError``, a refused one a ``pickle.UnpicklingError``, a corrupt
one whatever ``torch.load`` raised (see :mod:`ideal_mm.errors`), a missing op
``ModuleNotFoundError`` on import. ``make test-mmseg`` runs mmseg's own model
tests with ideal_mm imported to keep it that way.
"""
from __future__ import annotations

import importlib.util
import sys
import warnings

from .checkpoint import (allow_mmengine_checkpoints, install_safe_local_loader,
                         load_checkpoint_file, safe_globals)


def mmcv_has_compiled_ops() -> bool:
    """True when mmcv's compiled extension ``mmcv._ext`` can be imported."""
    if importlib.util.find_spec('mmcv') is None:
        return False
    return importlib.util.find_spec('mmcv._ext') is not None


def install_mmcv_ops_stand_in() -> bool:
    """Install the stand-in ``mmcv.ops``; returns True when it was
    installed."""
    if mmcv_has_compiled_ops():
        return False
    existing = sys.modules.get('mmcv.ops')
    if existing is not None:
        return bool(getattr(existing, 'IDEAL_MM_STAND_IN', False))
    import mmcv

    from .mmcv_ops import build_module
    module = build_module()
    sys.modules['mmcv.ops'] = module
    mmcv.ops = module
    return True


MMCV_OPS_STAND_IN = install_mmcv_ops_stand_in()
if MMCV_OPS_STAND_IN:
    # mmcv.cnn.bricks.transformer warns on every import that deformable
    # attention is missing; with the stand-in that is expected, and the error
    # for actually using it is raised by the stand-in itself.
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
CHECKPOINT_ALLOW_LIST = allow_mmengine_checkpoints()
install_safe_local_loader()

__all__ = [
    'mmcv_has_compiled_ops', 'install_mmcv_ops_stand_in',
    'allow_mmengine_checkpoints', 'install_safe_local_loader',
    'load_checkpoint_file', 'safe_globals', 'MMCV_OPS_STAND_IN',
    'CHECKPOINT_ALLOW_LIST'
]
