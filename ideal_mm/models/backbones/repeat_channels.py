"""Feed 1-channel slices to backbones that only take 3 channels.

Why this exists: mmseg's MobileNetV2, MobileNetV3 and MSCAN build their stem
for 3 input channels and take no ``in_channels`` argument, so an MR slice
(1 channel) cannot reach them. The usual remedy is to repeat the grey
channel; :func:`RepeatInputChannels` builds the backbone unchanged and adds
a forward pre-hook that repeats a 1-channel input ``channels`` times.
Nothing is wrapped: the module, its class (for the geometry table), its
``state_dict`` keys (``backbone.*`` in ``encoder.pth``) and its
``init_weights`` are the backbone's own, so stage 1 and stage 2 load each
other's encoders as for any other backbone.

Config::

    backbone=dict(type='RepeatInputChannels', channels=3,
                  backbone=dict(type='MobileNetV2', widen_factor=1.0, ...))
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
import torch.nn as nn
from mmseg.registry import MODELS

from ideal_mm.errors import ConfigError


class _RepeatChannels:
    """Forward pre-hook: (B, 1, H, W) -> (B, channels, H, W); inputs that
    already have ``channels`` channels pass unchanged."""

    def __init__(self, channels: int, name: str) -> None:
        self.channels = channels
        self.name = name

    def __call__(self, module: nn.Module,
                 args: Tuple[Any, ...]) -> Optional[Tuple[Any, ...]]:
        x = args[0]
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            return None
        if x.shape[1] == self.channels:
            return None
        if x.shape[1] != 1:
            raise ConfigError(
                f'RepeatInputChannels: {self.name} got {x.shape[1]}-channel '
                f'input; it repeats 1-channel input to {self.channels} '
                f'channels only (set the data to 1 channel, or drop the '
                f'wrapper from model.backbone)')
        return (x.expand(-1, self.channels, -1, -1).contiguous(), ) + tuple(
            args[1:])


@MODELS.register_module()
def RepeatInputChannels(backbone: dict,
                        channels: int = 3,
                        init_cfg: Optional[Any] = None) -> nn.Module:
    """Build ``backbone`` (a config dict) so that 1-channel inputs reach it
    repeated to ``channels`` channels.

    Args:
        backbone: the backbone config, e.g. ``dict(type='MobileNetV2')``.
        channels: the channels the backbone's stem takes (default 3).
        init_cfg: set as the backbone's ``init_cfg`` (e.g. the
            ``Pretrained`` encoder file of stage 2).

    Returns:
        The backbone module itself, with the channel-repeating hook.
    """
    if not isinstance(backbone, dict) or 'type' not in backbone:
        raise ConfigError(
            'model.backbone.backbone of RepeatInputChannels must be a '
            f"backbone config dict(type='MobileNetV2', ...), got "
            f'{backbone!r}')
    if isinstance(channels, bool) or not isinstance(channels, int) or \
            channels < 1:
        raise ConfigError(
            'model.backbone.channels of RepeatInputChannels must be the '
            f'positive channel count the backbone takes, got {channels!r}')
    cfg = dict(backbone)
    if init_cfg is not None:
        cfg['init_cfg'] = init_cfg
    module = MODELS.build(cfg)
    module.register_forward_pre_hook(
        _RepeatChannels(channels, str(cfg['type'])))
    return module
