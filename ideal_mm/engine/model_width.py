"""Scale the width of a UNet-style model config (every channel count that
follows the backbone's ``base_channels``), and fit the data preprocessor's
padding to a smaller input.

Used by the study runner (``model_width`` / ``input_size`` in a study spec,
:mod:`ideal_mm.analysis.study_runner`) to make long CPU studies affordable
without a second copy of every arm's config. mmseg has no such switch: a
config states each head's ``in_channels`` / ``channels`` by hand, so a
narrower encoder needs the same edit in every head, which is what
:func:`scale_model_width` does.
"""
from __future__ import annotations

import math
from typing import Any, List, Optional, Tuple

from ideal_mm.errors import ConfigError

__all__ = ['scale_model_width', 'fit_size_divisor']


def _backbones(node: Any, path: str) -> List[Tuple[str, dict]]:
    """(path, dict) of every dict with a ``base_channels`` key."""
    found = []
    if isinstance(node, dict):
        if 'base_channels' in node:
            found.append((path, node))
        for k, v in node.items():
            found += _backbones(v, f'{path}.{k}')
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            found += _backbones(v, f'{path}.{i}')
    return found


def _scale(value: Any, num: int, den: int, key: str) -> Any:
    """``value * num / den`` for an int or a list of ints, exactly."""
    if isinstance(value, (list, tuple)):
        return type(value)(_scale(v, num, den, key) for v in value)
    if not isinstance(value, int) or (value * num) % den:
        raise ConfigError(f'{key} = {value!r} cannot be scaled by {num}/{den}'
                          ' to a whole number of channels: choose a '
                          'model_width that divides it')
    return value * num // den


def scale_model_width(model: dict,
                      base_channels: int,
                      key: str = 'model') -> dict:
    """Scale a model config (in place) to ``base_channels``.

    Every dict with ``base_channels`` (the encoder, e.g. ``UNetEncoder``)
    gets the new value; the factor ``new / old`` is then applied to every
    ``in_channels`` outside the encoder (decode heads, extra heads,
    projection heads: the channels they read from the encoder) and to the
    ``channels`` of every decode head (a dict with ``num_classes``). An
    embedding's own size (a projection head's ``channels`` /
    ``hidden_channels``) and the image's ``in_channels`` stay. All encoders
    of one model must have the same ``base_channels`` (one factor).

    Raises:
        ConfigError: no encoder with ``base_channels`` in the config, two
            encoders of different widths, or a channel count the factor
            does not divide.
    """
    if int(base_channels) < 1:
        raise ConfigError(f'model_width must be a positive number of '
                          f'channels, got {base_channels!r}')
    encoders = _backbones(model, key)
    if not encoders:
        raise ConfigError(f'{key}: model_width needs an encoder with '
                          '`base_channels` (e.g. UNetEncoder); this model '
                          'has none, so its width cannot be scaled')
    olds = {int(d['base_channels']) for _, d in encoders}
    if len(olds) > 1:
        raise ConfigError(f'{key}: encoders of different widths '
                          f'{sorted(olds)}; model_width scales one width')
    old, new = olds.pop(), int(base_channels)
    ids = {id(d) for _, d in encoders}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if id(node) in ids:
                node['base_channels'] = new
            else:
                if 'in_channels' in node:
                    node['in_channels'] = _scale(node['in_channels'], new, old,
                                                 f'{path}.in_channels')
                if 'num_classes' in node and 'channels' in node:
                    node['channels'] = _scale(node['channels'], new, old,
                                              f'{path}.channels')
            for k, v in node.items():
                walk(v, f'{path}.{k}')
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                walk(v, f'{path}.{i}')

    walk(model, key)
    return model


def fit_size_divisor(model: dict, size: Tuple[int, int]) -> Optional[int]:
    """Lower the data preprocessor's ``size_divisor`` (in place) to the
    largest divisor of it that also divides both sides of ``size``, so a
    smaller study input is not padded back up (48x48 with ``size_divisor
    32`` would be padded to 64x64). Returns the new value, or None when
    nothing changed. The encoder still checks that its input is divisible
    by its own total stride.
    """
    pre = model.get('data_preprocessor') or {}
    div = pre.get('size_divisor')
    if not div:
        return None
    fit = math.gcd(int(div), math.gcd(int(size[0]), int(size[1])))
    if fit == div:
        return None
    pre['size_divisor'] = fit
    return fit
