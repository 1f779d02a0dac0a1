"""One output level in training and in eval, for PIDNet- and DDRNet-like
backbones.

Why this exists: mmseg's PIDNet and DDRNet return a tuple in training
(PIDNet ``(p, out, d)``, DDRNet ``(context, out)``: auxiliary branches for
their own heads) and only ``out`` in eval. Any other decoder indexes levels
with ``in_index``: ``out`` in eval is a tensor, so ``in_index`` picks a
sample of the batch instead of a level, and prediction fails (issue 25).
:func:`MainOutput` builds the backbone unchanged and adds a forward hook
that returns ``(out,)`` in both modes, so ``in_index=0`` (or -1) reads the
same features in training, evaluation and the geometry probe. The module,
its class and its ``state_dict`` keys stay the backbone's own.

Config::

    backbone=dict(type='MainOutput', train_index=1,
                  backbone=dict(type='PIDNet', in_channels=1, ...))
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
import torch.nn as nn
from mmseg.registry import MODELS

from ideal_mm.errors import ConfigError


class _MainOutput:
    """Forward hook: the training tuple's ``train_index`` entry, or the
    eval tensor, as a one-level tuple."""

    def __init__(self, train_index: int, name: str) -> None:
        self.train_index = train_index
        self.name = name

    def __call__(self, module: nn.Module, args: Tuple[Any, ...],
                 output: Any) -> Tuple[torch.Tensor]:
        if isinstance(output, torch.Tensor):
            return (output, )
        levels = list(output)
        if not -len(levels) <= self.train_index < len(levels):
            raise ConfigError(
                f'MainOutput: {self.name} returned {len(levels)} outputs in '
                f'training; model.backbone.train_index={self.train_index} '
                f'is out of range')
        return (levels[self.train_index], )


@MODELS.register_module()
def MainOutput(backbone: dict,
               train_index: int = 1,
               init_cfg: Optional[Any] = None) -> nn.Module:
    """Build ``backbone`` so that it returns ``(main output,)`` in training
    and eval alike.

    Args:
        backbone: the backbone config, e.g. ``dict(type='PIDNet', ...)``.
        train_index: which entry of the training tuple is the output the
            backbone returns in eval (1 for PIDNet and DDRNet).
        init_cfg: set as the backbone's ``init_cfg``.

    Returns:
        The backbone module itself, with the output hook.
    """
    if not isinstance(backbone, dict) or 'type' not in backbone:
        raise ConfigError(
            'model.backbone.backbone of MainOutput must be a backbone config '
            f"dict(type='PIDNet', ...), got {backbone!r}")
    if isinstance(train_index, bool) or not isinstance(train_index, int):
        raise ConfigError(
            'model.backbone.train_index of MainOutput must be an int, got '
            f'{train_index!r}')
    cfg = dict(backbone)
    if init_cfg is not None:
        cfg['init_cfg'] = init_cfg
    module = MODELS.build(cfg)
    module.register_forward_hook(_MainOutput(train_index, str(cfg['type'])))
    return module
