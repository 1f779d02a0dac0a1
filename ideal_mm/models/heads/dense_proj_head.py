"""Projection heads for contrastive pre-training: dense (IDEAL) and global.

mmseg has decode heads (which predict classes) but no projection head that maps
encoder features to a dense grid of L2-normalised embeddings, and mmpretrain's
necks pool the feature map away; so both heads are written here.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from ideal_mm.errors import ConfigError


def _as_index_list(in_index: Union[int, Sequence[int]]) -> List[int]:
    """``in_index`` as a list of ints (one int -> one level)."""
    if isinstance(in_index, int):
        return [in_index]
    indices = list(in_index)
    if not indices or not all(isinstance(i, int) for i in indices):
        raise ConfigError(
            f'proj_head.in_index must be an int or a non-empty list of ints, '
            f'got {in_index!r}')
    return indices


def _select_levels(feats: Union[torch.Tensor, Sequence[torch.Tensor]],
                   indices: List[int], owner: str) -> List[torch.Tensor]:
    """Pick the levels named by ``indices`` from a backbone's outputs."""
    if isinstance(feats, torch.Tensor):
        feats = [feats]
    feats = list(feats)
    try:
        return [feats[i] for i in indices]
    except IndexError:
        raise ConfigError(
            f'{owner}.in_index={indices} does not fit a backbone that returns '
            f'{len(feats)} level(s); use indices in [-{len(feats)}, '
            f'{len(feats) - 1}]') from None


def _check_channels(selected: List[torch.Tensor], expected: int,
                    owner: str) -> None:
    got = sum(f.shape[1] for f in selected)
    if got != expected:
        raise ConfigError(
            f'{owner}.in_channels={expected} but the selected backbone '
            f'level(s) have {got} channels in total; set {owner}.in_channels '
            f'to {got}')


@MODELS.register_module()
class DenseConvProjHead(BaseModule):
    """IDEAL's dense projection head: 1x1 conv -> norm -> ReLU -> 1x1 conv.

    Takes the encoder's multi-level outputs and uses the level(s) chosen by
    ``in_index``. With a list, every chosen level is bilinearly upsampled to
    the spatial size of the *finest* (largest) chosen level and the levels are
    concatenated along channels. There is no pooling: the output is a dense
    grid of embeddings, each L2-normalised over channels.

    Args:
        in_channels: channels of the chosen level, or the sum over the chosen
            levels when ``in_index`` is a list.
        in_index: which backbone output(s) to use; default -1 (the deepest).
        channels: embedding dimension (default 128).
        hidden_channels: channels after the first 1x1 conv (default: equal to
            ``in_channels``).
        norm_cfg: norm layer after the first conv (default BN; use
            ``dict(type='SyncBN')`` for multi-GPU, ``dict(type='GN',
            num_groups=...)`` for tiny batches).
        align_corners: for the upsampling when fusing levels.
        init_cfg: mmengine init config.
    """

    def __init__(
        self,
        in_channels: int,
        in_index: Union[int, Sequence[int]] = -1,
        channels: int = 128,
        hidden_channels: Optional[int] = None,
        norm_cfg: Optional[dict] = dict(type='BN'),
        align_corners: bool = False,
        init_cfg: Optional[Union[dict, List[dict]]] = dict(
            type='Kaiming', layer='Conv2d')
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_index = _as_index_list(in_index)
        self.in_channels = int(in_channels)
        self.channels = int(channels)
        self.hidden_channels = int(hidden_channels or in_channels)
        self.align_corners = align_corners
        layers: List[nn.Module] = [
            nn.Conv2d(
                self.in_channels,
                self.hidden_channels,
                1,
                bias=norm_cfg is None)
        ]
        if norm_cfg is not None:
            layers.append(build_norm_layer(norm_cfg, self.hidden_channels)[1])
        layers += [
            nn.ReLU(inplace=True),
            nn.Conv2d(self.hidden_channels, self.channels, 1)
        ]
        self.proj = nn.Sequential(*layers)

    def fuse(
            self, feats: Union[torch.Tensor,
                               Sequence[torch.Tensor]]) -> torch.Tensor:
        """The chosen level, or the chosen levels fused at the finest one."""
        selected = _select_levels(feats, self.in_index, 'proj_head')
        _check_channels(selected, self.in_channels, 'proj_head')
        if len(selected) == 1:
            return selected[0]
        target = max((f.shape[-2:] for f in selected),
                     key=lambda s: s[0] * s[1])
        resized = [
            f if f.shape[-2:] == target else F.interpolate(
                f,
                size=tuple(target),
                mode='bilinear',
                align_corners=self.align_corners) for f in selected
        ]
        return torch.cat(resized, dim=1)

    def forward(
            self, feats: Union[torch.Tensor,
                               Sequence[torch.Tensor]]) -> torch.Tensor:
        """Return L2-normalised embeddings (B, channels, h, w)."""
        return F.normalize(self.proj(self.fuse(feats)), dim=1)


@MODELS.register_module()
class GlobalProjHead(BaseModule):
    """Image-level projection head: global average pool -> MLP -> L2 norm.

    Used for the optional image-level contrastive term (the "global
    contrastive" baseline of the paper). MLP: Linear -> BN1d -> ReLU ->
    Linear (BN1d needs at least two images per batch in training; set
    ``norm_cfg=None`` otherwise).

    Args:
        in_channels: channels of the chosen level (sum when a list).
        in_index: backbone output(s) to pool; a list pools each level and
            concatenates the pooled vectors.
        channels: embedding dimension (default 128).
        hidden_channels: MLP width (default: ``in_channels``).
        norm_cfg: ``dict(type='BN1d')`` or None.
        init_cfg: mmengine init config.
    """

    # the argument names of DenseConvProjHead (the look-alike signature), so
    # that a config swaps one projection head for the other
    def __init__(self,
                 in_channels: int,
                 in_index: Union[int, Sequence[int]] = -1,
                 channels: int = 128,
                 hidden_channels: Optional[int] = None,
                 norm_cfg: Optional[dict] = dict(type='BN1d'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_index = _as_index_list(in_index)
        self.in_channels = int(in_channels)
        self.channels = int(channels)
        self.hidden_channels = int(hidden_channels or in_channels)
        layers: List[nn.Module] = [
            nn.Linear(
                self.in_channels, self.hidden_channels, bias=norm_cfg is None)
        ]
        if norm_cfg is not None:
            layers.append(build_norm_layer(norm_cfg, self.hidden_channels)[1])
        layers += [
            nn.ReLU(inplace=True),
            nn.Linear(self.hidden_channels, self.channels)
        ]
        self.mlp = nn.Sequential(*layers)

    def forward(
            self, feats: Union[torch.Tensor,
                               Sequence[torch.Tensor]]) -> torch.Tensor:
        """Return L2-normalised image embeddings (B, channels)."""
        selected = _select_levels(feats, self.in_index, 'global_head')
        _check_channels(selected, self.in_channels, 'global_head')
        pooled = torch.cat([f.mean(dim=(2, 3)) for f in selected], dim=1)
        return F.normalize(self.mlp(pooled), dim=1)
