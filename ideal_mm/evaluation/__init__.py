"""Metrics: per-volume metric functions, the registered ``ACDCVolumeMetric``,
clinical indices and encoder probes.

The names below are imported on first use (PEP 562), so that reading label
maps (``tools/evaluate.py``: :mod:`.functional`, :mod:`.report`) needs
neither torch nor mmseg; :mod:`ideal_mm.registration` imports
:mod:`.volume_metric`, which registers the metric.
"""
from __future__ import annotations

import importlib
from typing import Any, List

#: public name -> submodule that defines it
_NAMES = {
    'ACDC_LABELS': 'functional',
    'binary_metrics': 'functional',
    'volume_metrics': 'functional',
    'ACDCVolumeMetric': 'volume_metric',
    'cardiac_function': 'clinical',
    'ejection_fraction': 'clinical',
    'label_volumes_ml': 'clinical',
    'build_probe_encoder': 'probe',
    'load_probe_data': 'probe',
    'probe_encoder': 'probe',
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
