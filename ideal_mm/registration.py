"""Importing this module registers every ideal_mm component.

Configs name it in ``custom_imports`` (``configs/_base_/default_runtime.py``):
unlike ``'ideal_mm'`` (light, and cached by Python once imported), importing
this module always leaves the components registered, whatever the user
imported before loading the config. :func:`ideal_mm.register_all_modules`
imports it. :mod:`ideal_mm.compat` comes first: it must run before mmseg's
models are imported.
"""
from . import compat  # noqa: F401  (must come first)
from . import apis, datasets, engine, models  # noqa: F401,E402
from .apis import inference, model  # noqa: F401,E402
from .engine import export_pretrained  # noqa: F401,E402  (registers)
from .evaluation import volume_metric  # noqa: F401,E402  (registers)

__all__: list = []
