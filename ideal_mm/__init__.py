"""ideal_mm: IDEAL semi-supervised medical image segmentation on OpenMMLab.

``import ideal_mm`` is light (no torch, no mmseg), so that command lines
which only read label maps (``tools/evaluate.py``) start at once. The parts
are imported when first used (PEP 562: ``ideal_mm.models`` etc.), and
:func:`register_all_modules` imports every part that registers components
into mmseg's registries, as ``mmseg.utils.register_all_modules`` does.

Registration happens

* when a config is loaded: ``configs/_base_/default_runtime.py`` has
  ``custom_imports=dict(imports=['ideal_mm.registration'])`` (a module that
  registers on import, whatever was imported before it);
* at ``import ideal_mm`` when mmseg is already imported (an OpenMMLab
  program such as mmseg's own tools; there a config's older
  ``custom_imports=['ideal_mm']`` still registers). Only mmseg counts, not
  mmengine: a tool that imports ``mmengine.config.DictAction`` for its
  arguments must stay light;
* when a tool or script calls :func:`register_all_modules`.

:mod:`ideal_mm.compat` (the mmcv ops stand-in, checkpoint allow-list) must
run before mmseg's models are imported; it imports torch, so instead of
applying it here a one-shot import hook applies it just before the first
``import mmseg`` (:class:`_CompatBeforeMMSeg`), and at once if mmseg is
already imported.
"""
from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any, List, Optional, Sequence

from .version import __version__

__all__ = ['__version__', 'register_all_modules']

#: parts importable as attributes (``ideal_mm.models``) without importing
#: them first; each is imported on first access.
_LAZY_PARTS = ('analysis', 'apis', 'atomic_files', 'compat', 'correspondence',
               'datasets', 'engine', 'errors', 'evaluation', 'geometry',
               'models', 'nifti_names', 'registration', 'visualization')


def __getattr__(name: str) -> ModuleType:
    """Import a part of ideal_mm on first attribute access (PEP 562)."""
    if name in _LAZY_PARTS:
        return importlib.import_module(f'{__name__}.{name}')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY_PARTS))


def register_all_modules(init_default_scope: bool = False) -> None:
    """Register every ideal_mm component into mmseg's registries.

    Imports :mod:`ideal_mm.registration` (compat first, then datasets,
    models, engine, evaluation and apis). Idempotent. With
    ``init_default_scope`` also make 'mmseg' mmengine's default scope, as
    ``mmseg.utils.register_all_modules`` does.
    """
    importlib.import_module(f'{__name__}.registration')
    if init_default_scope:
        from mmseg.utils import register_all_modules as mmseg_register
        mmseg_register(init_default_scope=True)


class _CompatBeforeMMSeg:
    """``sys.meta_path`` finder that imports :mod:`ideal_mm.compat` just
    before mmseg is first imported, then removes itself.

    It never finds a module itself (returns None), so the normal finders
    load mmseg right after.
    """

    _busy = False

    @classmethod
    def find_spec(cls,
                  fullname: str,
                  path: Optional[Sequence[str]] = None,
                  target: Any = None) -> None:
        """Apply compat when ``fullname`` is mmseg; find nothing."""
        if fullname != 'mmseg' or cls._busy:
            return None
        cls._busy = True
        try:
            _remove_compat_hook()
            importlib.import_module(f'{__name__}.compat')
        finally:
            cls._busy = False
        return None


def _remove_compat_hook() -> None:
    sys.meta_path[:] = [
        f for f in sys.meta_path if f is not _CompatBeforeMMSeg
    ]


if 'mmseg' in sys.modules:
    # mmseg is paid for already: register, as importing ideal_mm always did
    register_all_modules()
elif _CompatBeforeMMSeg not in sys.meta_path:
    sys.meta_path.insert(0, _CompatBeforeMMSeg)
