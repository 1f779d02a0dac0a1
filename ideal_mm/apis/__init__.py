"""Using trained models: inference on NIfTI volumes, NIfTI writing, pictures.

The names below are imported on first use (PEP 562): evaluating label maps
(:mod:`.label_map_eval`) must not import torch or mmseg.
"""
from __future__ import annotations

import importlib
from typing import Any, List

#: public name -> submodule that defines it
_NAMES = {
    'segment_volume': 'inference',
    'assign_outputs': 'inputs',
    'collect_inputs': 'inputs',
    'init_model': 'model',
    'write_label_nifti': 'nifti',
    'write_label_nifti_like_source': 'nifti',
    'save_volume_montage': 'visualize',
    'volume_montage': 'visualize',
    'load_volume': 'volume_io',
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first use."""
    if name in _NAMES:
        module = importlib.import_module(f'{__name__}.{_NAMES[name]}')
        return getattr(module, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_NAMES))
