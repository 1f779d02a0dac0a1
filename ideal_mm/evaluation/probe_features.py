"""The frozen encoder of the probes: building it, loading its weights, its
features.

Shared by the linear probe and the kNN transfer
(:mod:`ideal_mm.evaluation.probe`): the encoder runs in eval mode without
gradient, and every channel is standardised with its statistics over the train
pixels.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import os.path as osp
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import torch
import torch.nn as nn

from ..errors import CheckpointError, ConfigError
from ..model_config import encoder_config
from .probe_data import _cfg_get, maybe_tqdm

Features = List[torch.Tensor]


def _encoder_state(path: str,
                   prefix: str = 'backbone.') -> Dict[str, torch.Tensor]:
    """The ``prefix``-ed tensors of a checkpoint, prefix removed (as init_cfg
    'Pretrained')."""
    from ..compat.checkpoint import load_checkpoint_file
    if not osp.isfile(path):
        raise CheckpointError(
            f'encoder file {path} does not exist; give a stage-1 export '
            '(work_dirs/<pretrain>/encoder.pth), a checkpoint with '
            "'backbone.' keys, or 'random'")
    checkpoint = load_checkpoint_file(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, Mapping) else None
    if not isinstance(state, Mapping):
        raise CheckpointError(
            f'{path} holds no state dict; give an encoder.pth or a '
            'checkpoint saved by training')
    if state and all(str(k).startswith('module.') for k in state):
        state = {str(k)[len('module.'):]: v for k, v in state.items()}
    out = {
        k[len(prefix):]: v
        for k, v in state.items() if isinstance(k, str)
        and k.startswith(prefix) and isinstance(v, torch.Tensor)
    }
    if not out:
        first = ', '.join(list(map(str, state))[:4]) or 'none'
        raise CheckpointError(
            f'{path} has no encoder weights: no key starts with {prefix!r} '
            f'(first keys: {first})')
    return out


def build_probe_encoder(cfg: Any,
                        encoder: Optional[str] = 'random',
                        seed: int = 0) -> Tuple[nn.Module, Dict[str, Any]]:
    """The encoder of ``cfg`` (``model.backbone`` or
    ``model.segmentor.backbone``), initialised with ``seed``, then loaded
    from ``encoder``.

    ``encoder`` is ``'random'`` / None (the config's own initialisation with
    ``torch.manual_seed(seed)``: the baseline) or a file whose ``backbone.*``
    tensors are loaded non-strictly, as ``init_cfg=dict(type='Pretrained',
    prefix='backbone.')`` does (keys the file leaves out, e.g. the
    full-resolution stage of IDEAL's UNet export, keep their random values).
    The config's own ``init_cfg`` is ignored. Returns the encoder in eval mode
    without gradients and ``{'encoder', 'missing_keys'}``.
    """
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope(_cfg_get(cfg, 'default_scope') or 'mmseg')
    model = _cfg_get(cfg, 'model') or {}
    backbone_cfg = encoder_config(model)
    if not backbone_cfg:
        raise ConfigError('model.backbone (or model.segmentor.backbone) is '
                          'not set in the probe config; give a fine-tuning '
                          'or supervised config whose backbone is the encoder')
    backbone_cfg = copy.deepcopy(dict(backbone_cfg))
    backbone_cfg.pop('init_cfg', None)
    state = None
    if encoder not in (None, 'random'):
        state = _encoder_state(str(encoder))  # fail before building anything
    with torch.random.fork_rng(devices=[]), _quiet_mmengine_logger():
        torch.manual_seed(seed)
        net = MODELS.build(backbone_cfg)
        if hasattr(net, 'init_weights'):
            net.init_weights(
            )  # the config's initialisation, as fine-tuning starts
    missing: List[str] = []
    if state is not None:
        missing, unexpected = net.load_state_dict(state, strict=False)
        if unexpected:
            raise CheckpointError(
                f'{encoder}: {len(unexpected)} keys do not fit model.backbone '
                f'(e.g. {unexpected[0]}); give the config whose encoder the '
                'file was trained with')
    net.eval()
    net.requires_grad_(False)
    return net, dict(
        encoder='random' if state is None else str(encoder),
        missing_keys=list(missing))


@contextlib.contextmanager
def _quiet_mmengine_logger() -> Iterator[None]:
    """Silence mmengine's per-parameter ``init_weights`` report (INFO) for a
    moment."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _as_levels(out: Any) -> Features:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)) and out and all(
            isinstance(o, torch.Tensor) for o in out):
        return list(out)
    raise ConfigError(
        f'the encoder returned {type(out).__name__}; the probe needs a '
        'tensor or a list of (B, C, h, w) feature maps')


@torch.no_grad()
def extract_features(encoder: nn.Module,
                     images: torch.Tensor,
                     batch_size: int = 16,
                     mean: Optional[torch.Tensor] = None,
                     std: Optional[torch.Tensor] = None,
                     progress: bool = False,
                     desc: str = 'probe: features') -> Features:
    """Multi-level features of ``images`` (N, C, H, W) from the frozen
    ``encoder``.

    The encoder runs in eval mode without gradient (its previous mode is
    restored); ``(x - mean) / std`` first when given. Returns one (N, C_l,
    h_l, w_l) float32 tensor per level on the encoder's device.
    """
    device = _device(encoder)
    was_training = encoder.training
    encoder.eval()
    try:
        chunks: List[Features] = []
        starts = range(0, images.shape[0], batch_size)
        for s in maybe_tqdm(
                starts, progress, desc=desc, unit='batch', leave=False):
            chunks.append([
                f.float() for f in _as_levels(
                    encoder(
                        _normalise(images[s:s +
                                          batch_size].to(device), mean, std)))
            ])
    finally:
        encoder.train(was_training)
    return [
        torch.cat([c[level] for c in chunks])
        for level in range(len(chunks[0]))
    ]


def _device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    for b in module.buffers():
        return b.device
    return torch.device('cpu')


def _normalise(x: torch.Tensor, mean: Optional[torch.Tensor],
               std: Optional[torch.Tensor]) -> torch.Tensor:
    x = x.float()
    if mean is None or std is None:
        return x
    return (x - mean.to(x.device)) / std.to(x.device)


def _channel_stats(feats: Features) -> Tuple[Features, Features]:
    """Per-level channel mean and std over every train pixel (std floored at
    1e-6)."""
    means, stds = [], []
    for f in feats:
        flat = f.transpose(0, 1).reshape(f.shape[1], -1).double()
        means.append(flat.mean(1).float().view(1, -1, 1, 1))
        stds.append(
            flat.std(1,
                     unbiased=False).clamp_min(1e-6).float().view(1, -1, 1, 1))
    return means, stds
