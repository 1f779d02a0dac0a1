"""Encoder probes: how good is a frozen encoder for segmentation, without fine-tuning?

Self-supervised toolboxes (mmpretrain) read an encoder's quality with a linear
classifier on its frozen features; mmseg and mmpretrain have no *dense* probe on
per-volume medical data, so it is written here. Two probes share the data and
the frozen encoder ``E`` (eval mode: BatchNorm uses its running statistics; no
gradient ever reaches ``E``):

**Linear probe.** ``E`` maps a slice to multi-level features ``f_l`` (level
``l`` at ``1/s_l`` of the input). Every channel is standardised with the mean
and standard deviation of that channel over the labelled train pixels
(``z_l = (f_l - mu_l) / sigma_l``), each level is upsampled bilinearly to the
input size (``align_corners=False``), the levels are concatenated and a 1x1
convolution gives the class logits. Because bilinear upsampling and a 1x1
convolution are both linear in the channels, this equals

    ``logits = b + sum_l up(W_l z_l)``

(the 1x1 convolution applied at each level's own resolution, then only the K
class maps upsampled), which is how it is computed: exact, and far cheaper than
upsampling hundreds of channels. ``W_l`` and ``b`` start at zero and minimise the
pixel cross-entropy with Adam on mini-batches of pixels of the labelled train
slices: the encoder runs once on those slices, and the probe's input vectors
(standardised, upsampled, concatenated) are cached for a seeded uniform sample
of their pixels, so a step is one small matrix product.

**Dense kNN label transfer.** Each slice's features are resampled to a grid of
cells of ``stride x stride`` input pixels (area averaging for finer levels,
bilinear for coarser ones), standardised as above and L2-normalised per level;
the levels are concatenated and scaled by ``1/sqrt(L)``, so the cosine of two
cell vectors is the mean over levels of the per-level cosines. A train cell's
label is its ``stride x stride`` one-hot label patch ``q_j``. A test cell takes
its ``k`` most similar train cells (cosine ``s_j``) and scores class ``c`` at
pixel ``p`` of the cell with ``sum_j exp(s_j / T) q_j[c, p] / sum_j exp(s_j / T)``
(DINO's weighted kNN vote, applied to label patches as in patch-based label
fusion): one similarity per cell, labels at full resolution.

**Evaluation** follows the test protocol (``tools/test.py``, ACDCVolumeMetric):
slices at network size (the config's test pipeline), class maps resized
bilinearly to each slice's original grid, argmax, slices stacked per volume, and
per-volume, per-class Dice against the cached reference volume
(:func:`ideal_mm.evaluation.functional.volume_metrics`), averaged over volumes
and classes as :func:`ideal_mm.evaluation.report.summarize` does (NaN, a class
absent from both maps, left out).

Deterministic given ``seed``: the probe's weights start at zero, the pixel
sample and the mini-batches come from a seeded ``torch.Generator``, and the
global random state is not touched (a hook may probe in the middle of training).
"""
from __future__ import annotations

import contextlib
import copy
import logging
import math
import os.path as osp
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import CheckpointError, ConfigError, DataError
from .functional import volume_metrics
from .report import summarize

__all__ = [
    'KNNTransfer', 'LinearProbe', 'ProbeData', 'ProbeSlices', 'build_probe_encoder',
    'extract_features', 'fit_linear_probe', 'format_probe_table', 'knn_transfer_scores',
    'load_probe_data', 'probe_encoder', 'volume_dice'
]

#: Meta keys every probe slice needs (from PackSegInputs' meta_keys).
PROBE_META_KEYS = ('volume_id', 'slice_idx', 'num_slices', 'spacing', 'seg_map_path',
                   'ori_shape')

Features = List[torch.Tensor]


def _progress(iterable: Iterable, enabled: bool, **kwargs: Any) -> Iterable:
    """``tqdm(iterable)`` when ``enabled`` (and tqdm is installed), else ``iterable``."""
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with mmengine's deps
        return iterable
    return tqdm(iterable, **kwargs)


# --------------------------------------------------------------------- data


@dataclass
class ProbeSlices:
    """Slices at network size with their metainfo.

    Attributes:
        images: (N, C, H, W) float32 network inputs (the pipeline's output,
            before the data preprocessor's normalisation).
        labels: (N, H, W) int64 label maps at network size, or None.
        metas: per slice ``volume_id``, ``slice_idx``, ``num_slices``,
            ``spacing`` (sz, sx, sy), ``seg_map_path`` and ``ori_shape`` (H, W).
    """

    images: torch.Tensor
    labels: Optional[torch.Tensor]
    metas: List[Dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass
class ProbeData:
    """What both probes need: labelled train slices and labelled evaluation slices.

    Attributes:
        train: the labelled slices of the train dataset (``labels`` set).
        test: every slice of the evaluation split (whole volumes).
        class_names: foreground class names, label values 1, 2, ...
        mean, std: input normalisation of the segmentor's data preprocessor
            (None: none), applied before the encoder.
        split: name of the evaluation split ('test' or 'val').
    """

    train: ProbeSlices
    test: ProbeSlices
    class_names: Tuple[str, ...]
    mean: Optional[torch.Tensor] = None
    std: Optional[torch.Tensor] = None
    split: str = 'test'

    @property
    def num_classes(self) -> int:
        """Classes including the background (label 0)."""
        return len(self.class_names) + 1


def _cfg_get(cfg: Any, key: str) -> Any:
    """``cfg[key]`` for Config / dict, None when absent."""
    try:
        return cfg.get(key)
    except AttributeError:
        return None


def _input_norm(cfg: Any) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
    """mean / std of ``model.data_preprocessor`` as (C, 1, 1) tensors (None: none)."""
    model = _cfg_get(cfg, 'model') or {}
    pre = _cfg_get(model, 'data_preprocessor') or {}
    mean, std = _cfg_get(pre, 'mean'), _cfg_get(pre, 'std')
    if mean is None or std is None:
        return None, None
    mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1)
    if bool((std_t <= 0).any()):
        raise ConfigError(f'model.data_preprocessor.std={std!r} must be > 0')
    return mean_t, std_t


def _dataset_cfg(cfg: Any, key: str) -> dict:
    loader = _cfg_get(cfg, key)
    dataset = _cfg_get(loader, 'dataset') if loader else None
    if not dataset:
        raise ConfigError(f'{key}.dataset is not set in the probe config; give a fine-tuning '
                          'or supervised config (with train and test/val dataloaders)')
    return copy.deepcopy(dict(dataset))


def _load_slices(dataset_cfg: dict, pipeline: list, labelled_only: bool, key: str,
                 max_slices: Optional[int], progress: bool) -> Tuple[ProbeSlices, Any]:
    """Build ``dataset_cfg`` with ``pipeline`` and collect its (labelled) slices."""
    from mmseg.registry import DATASETS
    dataset_cfg = dict(dataset_cfg, pipeline=copy.deepcopy(pipeline))
    dataset_cfg.pop('indices', None)
    if dataset_cfg.get('type') == 'ACDCDataset':
        dataset_cfg.setdefault('progress', progress)
        if (labelled_only and dataset_cfg.get('subset') == 'all'
                and dataset_cfg.get('label_budget') is not None):
            # the same labelled patients, without listing the unlabelled ones
            dataset_cfg['subset'] = 'labelled'
    dataset = DATASETS.build(dataset_cfg)
    indices = list(range(len(dataset)))
    if labelled_only:
        indices = [i for i in indices if dataset.get_data_info(i).get('seg_map_path')]
        if not indices:
            raise DataError(f'{key}: no labelled slice (every seg_map_path is None); the '
                            'linear probe needs labelled train patients (set label_budget)')
    if max_slices is not None and len(indices) > max_slices:
        pick = np.linspace(0, len(indices) - 1, max_slices).round().astype(int)
        indices = [indices[i] for i in pick]
    images, labels, metas = [], [], []
    for i in _progress(indices, progress, desc=f'probe: load {key}', unit='slice',
                       leave=False):
        sample = dataset[i]
        inputs = sample['inputs']
        ds = sample['data_samples']
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3:
            raise ConfigError(f'{key}: the pipeline must end with PackSegInputs giving (C, H, W) '
                              f'inputs, got {type(inputs).__name__}')
        meta = dict(ds.metainfo)
        missing = [k for k in PROBE_META_KEYS if k not in meta]
        if missing:
            raise ConfigError(f'{key}: metainfo lacks {missing}; add them to PackSegInputs\' '
                              'meta_keys of the test pipeline (docs/data_contract.md)')
        gt = getattr(ds, 'gt_sem_seg', None) if 'gt_sem_seg' in ds else None
        if gt is None and labelled_only:
            raise DataError(f'{key}: slice {meta.get("volume_id")}[{meta.get("slice_idx")}] '
                            'has no label map; the probe needs the test pipeline to load '
                            'labels (LoadACDCSlice with_label=True)')
        images.append(inputs.float())
        if gt is not None:
            labels.append(gt.data.reshape(inputs.shape[-2:]).long())
        metas.append({k: meta[k] for k in PROBE_META_KEYS})
    shapes = {tuple(i.shape) for i in images}
    if len(shapes) != 1:
        raise ConfigError(f'{key}: slices of different sizes {sorted(shapes)}; the probe needs '
                          'a test pipeline with a fixed Resize')
    stacked = torch.stack(labels) if len(labels) == len(images) else None
    return ProbeSlices(torch.stack(images), stacked, metas), dataset


def load_probe_data(cfg: Any,
                    split: str = 'test',
                    max_train_slices: Optional[int] = None,
                    progress: bool = True) -> ProbeData:
    """The probe's data from a fine-tuning or supervised config.

    Train: the labelled slices (``seg_map_path`` set) of
    ``train_dataloader.dataset``; evaluation: every slice of
    ``<split>_dataloader.dataset``. Both go through the *evaluation*
    dataloader's pipeline (no augmentation; Resize to network size), so it
    must end with PackSegInputs whose meta_keys hold :data:`PROBE_META_KEYS`.

    Args:
        cfg: an mmengine Config or a dict with ``train_dataloader`` and
            ``<split>_dataloader`` (and optionally ``model.data_preprocessor``
            for the input mean / std).
        split: 'test' or 'val'.
        max_train_slices: keep at most this many train slices (evenly spaced).
        progress: show tqdm bars.
    """
    from mmengine.registry import init_default_scope
    if split not in ('test', 'val'):
        raise ConfigError(f"probe split={split!r} must be 'test' or 'val'")
    init_default_scope(_cfg_get(cfg, 'default_scope') or 'mmseg')
    eval_key = f'{split}_dataloader'
    eval_cfg = _dataset_cfg(cfg, eval_key)
    train_cfg = _dataset_cfg(cfg, 'train_dataloader')
    pipeline = eval_cfg.get('pipeline')
    if not pipeline:
        raise ConfigError(f'{eval_key}.dataset.pipeline is not set in the probe config')
    train, _ = _load_slices(train_cfg, pipeline, True, 'train_dataloader.dataset',
                            max_train_slices, progress)
    test, dataset = _load_slices(eval_cfg, pipeline, False, f'{eval_key}.dataset', None,
                                 progress)
    if train.images.shape[1:] != test.images.shape[1:]:
        raise ConfigError(f'train slices {tuple(train.images.shape[1:])} and {split} slices '
                          f'{tuple(test.images.shape[1:])} differ in size after the pipeline')
    classes = tuple(getattr(dataset, 'metainfo', {}).get('classes') or ())
    if len(classes) < 2:
        raise ConfigError(f'{eval_key}.dataset has no class names in its metainfo')
    mean, std = _input_norm(cfg)
    return ProbeData(train, test, tuple(str(c) for c in classes[1:]), mean, std, split)


# ------------------------------------------------------------------ encoder


def _encoder_state(path: str, prefix: str = 'backbone.') -> Dict[str, torch.Tensor]:
    """The ``prefix``-ed tensors of a checkpoint, prefix removed (as init_cfg 'Pretrained')."""
    from ..compat.checkpoint import load_checkpoint_file
    if not osp.isfile(path):
        raise CheckpointError(f'encoder file {path} does not exist; give a stage-1 export '
                              '(work_dirs/<pretrain>/encoder.pth), a checkpoint with '
                              "'backbone.' keys, or 'random'")
    checkpoint = load_checkpoint_file(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping):
        raise CheckpointError(f'{path} holds no state dict; give an encoder.pth or a '
                              'checkpoint saved by training')
    if state and all(str(k).startswith('module.') for k in state):
        state = {str(k)[len('module.'):]: v for k, v in state.items()}
    out = {k[len(prefix):]: v for k, v in state.items()
           if isinstance(k, str) and k.startswith(prefix) and isinstance(v, torch.Tensor)}
    if not out:
        first = ', '.join(list(map(str, state))[:4]) or 'none'
        raise CheckpointError(f'{path} has no encoder weights: no key starts with {prefix!r} '
                              f'(first keys: {first})')
    return out


def build_probe_encoder(cfg: Any, encoder: Optional[str] = 'random',
                        seed: int = 0) -> Tuple[nn.Module, Dict[str, Any]]:
    """``model.backbone`` of ``cfg``, initialised with ``seed``, then loaded from ``encoder``.

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
    backbone_cfg = _cfg_get(model, 'backbone')
    if not backbone_cfg:
        raise ConfigError('model.backbone is not set in the probe config; give a fine-tuning '
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
            net.init_weights()  # the config's initialisation, as fine-tuning starts
    missing: List[str] = []
    if state is not None:
        missing, unexpected = net.load_state_dict(state, strict=False)
        if unexpected:
            raise CheckpointError(f'{encoder}: {len(unexpected)} keys do not fit model.backbone '
                                  f'(e.g. {unexpected[0]}); give the config whose encoder the '
                                  'file was trained with')
    net.eval()
    net.requires_grad_(False)
    return net, dict(encoder='random' if state is None else str(encoder),
                     missing_keys=list(missing))


@contextlib.contextmanager
def _quiet_mmengine_logger() -> Iterator[None]:
    """Silence mmengine's per-parameter ``init_weights`` report (INFO) for a moment."""
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
    if isinstance(out, (list, tuple)) and out and all(isinstance(o, torch.Tensor) for o in out):
        return list(out)
    raise ConfigError(f'the encoder returned {type(out).__name__}; the probe needs a tensor or '
                      'a list of (B, C, h, w) feature maps')


@torch.no_grad()
def extract_features(encoder: nn.Module, images: torch.Tensor, batch_size: int = 16,
                     mean: Optional[torch.Tensor] = None, std: Optional[torch.Tensor] = None,
                     progress: bool = False, desc: str = 'probe: features') -> Features:
    """Multi-level features of ``images`` (N, C, H, W) from the frozen ``encoder``.

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
        for s in _progress(starts, progress, desc=desc, unit='batch', leave=False):
            chunks.append([f.float() for f in _as_levels(
                encoder(_normalise(images[s:s + batch_size].to(device), mean, std)))])
    finally:
        encoder.train(was_training)
    return [torch.cat([c[level] for c in chunks]) for level in range(len(chunks[0]))]


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
    """Per-level channel mean and std over every train pixel (std floored at 1e-6)."""
    means, stds = [], []
    for f in feats:
        flat = f.transpose(0, 1).reshape(f.shape[1], -1).double()
        means.append(flat.mean(1).float().view(1, -1, 1, 1))
        stds.append(flat.std(1, unbiased=False).clamp_min(1e-6).float().view(1, -1, 1, 1))
    return means, stds


# ------------------------------------------------------------ linear probe


class LinearProbe(nn.Module):
    """1x1 convolution over standardised, upsampled, concatenated encoder levels.

    ``forward(feats, size)`` returns ``b + sum_l up(W_l (f_l - mu_l) / sigma_l)``
    (B, K, *size): exactly the 1x1 convolution of the concatenation of the
    bilinearly upsampled levels (module docstring). ``W_l`` and ``b`` start at
    zero.

    Args:
        means, stds: per-level (1, C_l, 1, 1) channel statistics.
        num_classes: K, including the background.
    """

    def __init__(self, means: Features, stds: Features, num_classes: int) -> None:
        super().__init__()
        self.num_levels = len(means)
        for i, (m, s) in enumerate(zip(means, stds)):
            self.register_buffer(f'mean_{i}', m.clone())
            self.register_buffer(f'std_{i}', s.clone())
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.zeros(num_classes, m.shape[1], device=m.device)) for m in means])
        self.bias = nn.Parameter(torch.zeros(num_classes, device=means[0].device))

    def standardise(self, feats: Features) -> Features:
        """``(f_l - mu_l) / sigma_l`` per level."""
        if len(feats) != self.num_levels:
            raise ValueError(f'expected {self.num_levels} feature levels, got {len(feats)}')
        return [(f - getattr(self, f'mean_{i}')) / getattr(self, f'std_{i}')
                for i, f in enumerate(feats)]

    def forward(self, feats: Features, size: Tuple[int, int],
                standardised: bool = False) -> torch.Tensor:
        """Class logits (B, K, H, W) at ``size`` (``standardised``: feats are ``z_l``)."""
        zs = feats if standardised else self.standardise(feats)
        if len(zs) != self.num_levels:
            raise ValueError(f'expected {self.num_levels} feature levels, got {len(zs)}')
        out = None
        for i, z in enumerate(zs):
            y = torch.einsum('kc,bchw->bkhw', self.weights[i], z)
            if tuple(y.shape[-2:]) != tuple(size):
                y = F.interpolate(y, size=size, mode='bilinear', align_corners=False)
            out = y if out is None else out + y
        return out + self.bias.view(1, -1, 1, 1)


@contextlib.contextmanager
def _cpu_threads(num: Optional[int]) -> Iterator[None]:
    """Run the block with ``num`` intra-op CPU threads (None: unchanged), then restore."""
    before = torch.get_num_threads()
    if num is not None and num != before:
        torch.set_num_threads(num)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _pixel_features(zs: Features, labels: torch.Tensor, num_pixels: int,
                    gen: torch.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
    """(P, D) rows of the upsampled, concatenated levels at sampled pixels, and their labels.

    Each slice gives ``ceil(num_pixels / N)`` pixels drawn uniformly without
    replacement (all of them if it has fewer); pixels labelled 255 are dropped.
    """
    n, (h, w) = labels.shape[0], tuple(labels.shape[-2:])
    per = max(1, min(h * w, -(-num_pixels // n)))
    rows, targets = [], []
    for i in range(n):
        idx = torch.randperm(h * w, generator=gen)[:per].to(labels.device)
        up = [z[i:i + 1] if tuple(z.shape[-2:]) == (h, w) else F.interpolate(
            z[i:i + 1], size=(h, w), mode='bilinear', align_corners=False) for z in zs]
        rows.append(torch.cat(up, 1).flatten(2)[0][:, idx].T)
        targets.append(labels[i].flatten()[idx])
    x, y = torch.cat(rows), torch.cat(targets)
    keep = y != 255
    return x[keep].contiguous(), y[keep]


def fit_linear_probe(feats: Features, labels: torch.Tensor, num_classes: int,
                     iters: int = 300, lr: float = 0.01, num_pixels: int = 65536,
                     batch_pixels: int = 8192, weight_decay: float = 0.0, seed: int = 0,
                     progress: bool = False) -> Tuple[LinearProbe, float]:
    """Train a :class:`LinearProbe` with pixel cross-entropy on cached features.

    The probe's input at a pixel is the standardised, bilinearly upsampled,
    concatenated feature vector there (what its 1x1 convolution sees); these
    vectors are computed once for ``num_pixels`` pixels sampled uniformly
    (seeded) from the labelled slices ``labels`` (N, H, W) (255: ignored). Each
    of ``iters`` Adam steps (``lr``, ``weight_decay``) minimises the mean
    cross-entropy of ``batch_pixels`` of them: the rows are shuffled once
    (seeded) and cut into consecutive batches taken in turn, each an unbiased
    estimate of the mean over all labelled pixels at a small fraction of the
    cost of a full-map step. On the CPU the steps run on one thread: they are
    skinny matrix products (K outputs) whose multi-threaded kernels cost more
    in synchronisation than they save (measured on a loaded 2-core machine:
    6 ms per step on one thread, 109 ms on two). Returns the probe (eval mode)
    and the mean loss of the last 10 % of the steps.
    """
    if iters < 1:
        raise ConfigError(f'probe iters={iters} must be >= 1')
    if num_pixels < 1 or batch_pixels < 1:
        raise ConfigError(f'probe num_pixels={num_pixels} and batch_pixels={batch_pixels} '
                          'must be >= 1')
    n = labels.shape[0]
    if n == 0 or any(f.shape[0] != n for f in feats):
        raise ValueError('features and labels must hold the same, non-zero number of slices')
    means, stds = _channel_stats(feats)
    probe = LinearProbe(means, stds, num_classes)
    device = means[0].device
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        x, y = _pixel_features(probe.standardise(feats), labels.to(device), num_pixels, gen)
    if y.numel() == 0:
        raise DataError('every sampled train pixel is labelled 255 (ignored); the linear '
                        'probe needs labelled pixels')
    if int(y.max()) >= num_classes:
        raise DataError(f'train label {int(y.max())} >= num_classes={num_classes}')
    # one shuffle; the mini-batches are then consecutive slices (views, no copies)
    perm = torch.randperm(y.numel(), generator=gen).to(device)
    x, y = x[perm], y[perm]
    weight = torch.zeros(num_classes, x.shape[1], device=device, requires_grad=True)
    bias = torch.zeros(num_classes, device=device, requires_grad=True)
    optim = torch.optim.Adam([weight, bias], lr=lr, weight_decay=weight_decay)
    losses: List[float] = []
    bs = min(batch_pixels, y.numel())
    num_batches = y.numel() // bs
    with torch.enable_grad(), _cpu_threads(1 if device.type == 'cpu' else None):
        for step in _progress(range(iters), progress, desc='probe: linear', unit='it',
                              leave=False):
            b = (step % num_batches) * bs
            loss = F.cross_entropy(F.linear(x[b:b + bs], weight, bias), y[b:b + bs])
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            losses.append(float(loss.detach()))
    with torch.no_grad():
        for w_l, part in zip(probe.weights, weight.detach().split(
                [int(m.shape[1]) for m in means], dim=1)):
            w_l.copy_(part)
        probe.bias.copy_(bias.detach())
    probe.eval()
    tail = losses[-max(1, len(losses) // 10):]
    return probe, float(sum(tail) / len(tail))


# --------------------------------------------------------------------- kNN


def _cell_vectors(feats: Features, grid: Tuple[int, int], means: Features,
                  stds: Features) -> torch.Tensor:
    """(N, gh*gw, D) unit vectors of standardised, per-level normalised cell features."""
    parts = []
    for f, m, s in zip(feats, means, stds):
        z = (f - m) / s
        if z.shape[-2] >= grid[0] and z.shape[-1] >= grid[1]:
            z = F.adaptive_avg_pool2d(z, grid)
        else:
            z = F.interpolate(z, size=grid, mode='bilinear', align_corners=False)
        parts.append(F.normalize(z, dim=1))
    cells = torch.cat(parts, 1) / math.sqrt(len(parts))
    return cells.flatten(2).transpose(1, 2).contiguous()


def _grid(size: Tuple[int, int], stride: int) -> Tuple[int, int]:
    if stride < 1 or size[0] % stride or size[1] % stride:
        raise ConfigError(f'kNN stride={stride} must divide the network input size {size}')
    return size[0] // stride, size[1] // stride


class KNNTransfer:
    """Dense kNN label transfer (module docstring) with a fixed train memory bank.

    The bank holds one unit vector per train cell and that cell's label
    patch; ``scores`` returns, per test pixel, the vote-weighted mean of the
    ``k`` nearest train cells' one-hot label patches (pixel ``(i, j)`` of a
    test cell takes pixel ``(i, j)`` of each neighbour's patch), so the
    matching costs one similarity per cell while the labels keep the input
    resolution (patch-based label fusion, as in multi-atlas segmentation).

    Args:
        feats: train features (one (N, C_l, h_l, w_l) tensor per level).
        labels: (N, H, W) train label maps at network size (255: no vote).
        num_classes: K including the background.
        k: neighbours per test cell.
        stride: cell size in input pixels (must divide H and W).
        temperature: T of the ``exp(s / T)`` vote weights.
    """

    def __init__(self, feats: Features, labels: torch.Tensor, num_classes: int, k: int = 20,
                 stride: int = 8, temperature: float = 0.07) -> None:
        if k < 1:
            raise ConfigError(f'kNN k={k} must be >= 1')
        if temperature <= 0:
            raise ConfigError(f'kNN temperature={temperature} must be > 0')
        self.size = tuple(int(s) for s in labels.shape[-2:])
        self.grid = _grid(self.size, stride)
        self.stride = int(stride)
        self.num_classes, self.k, self.temperature = num_classes, k, float(temperature)
        self.means, self.stds = _channel_stats(feats)
        self.bank = _cell_vectors(feats, self.grid, self.means, self.stds).flatten(0, 1)
        valid = (labels != 255)
        onehot = F.one_hot(labels.clamp(0, num_classes - 1).long(), num_classes)
        onehot = (onehot * valid[..., None]).float()  # (N, H, W, K)
        n, (gh, gw), st = labels.shape[0], self.grid, self.stride
        # (N, gh, s, gw, s, K) -> one row per cell: its (K, s, s) label patch
        patches = onehot.view(n, gh, st, gw, st, num_classes).permute(0, 1, 3, 5, 2, 4)
        self.patches = patches.reshape(n * gh * gw, -1).to(self.bank.device)

    def scores(self, feats: Features, chunk: int = 4096) -> torch.Tensor:
        """Class scores (B, K, H, W) at network size of test features (one tensor per level)."""
        q = _cell_vectors(feats, self.grid, self.means, self.stds)
        b, cells, _ = q.shape
        q = q.flatten(0, 1)
        k = min(self.k, self.bank.shape[0])
        out = torch.empty(q.shape[0], self.patches.shape[1], device=q.device)
        for s in range(0, q.shape[0], chunk):
            sim = q[s:s + chunk] @ self.bank.T
            top, idx = sim.topk(k, dim=1)
            w = torch.softmax(top / self.temperature, dim=1)  # exp(s/T) / sum exp(s/T)
            out[s:s + chunk] = torch.einsum('qk,qkp->qp', w, self.patches[idx])
        (gh, gw), st = self.grid, self.stride
        out = out.view(b, gh, gw, self.num_classes, st, st).permute(0, 3, 1, 4, 2, 5)
        return out.reshape(b, self.num_classes, gh * st, gw * st)


def knn_transfer_scores(train_feats: Features, train_labels: torch.Tensor,
                        test_feats: Features, num_classes: int, k: int = 20, stride: int = 8,
                        temperature: float = 0.07) -> torch.Tensor:
    """Class scores (B, K, H, W) of ``test_feats`` by :class:`KNNTransfer`."""
    return KNNTransfer(train_feats, train_labels, num_classes, k, stride,
                       temperature).scores(test_feats)


# --------------------------------------------------------------- evaluation


def volume_dice(preds: Sequence[np.ndarray], metas: Sequence[Mapping[str, Any]],
                class_names: Sequence[str]) -> Dict[str, Any]:
    """Per-volume Dice of slice predictions already on each slice's original grid.

    Slices are stacked per ``volume_id`` in ``slice_idx`` order (each of
    ``0..num_slices-1`` exactly once) and compared with the cached reference
    ``seg_map_path`` by :func:`volume_metrics`; class ``c`` is label value
    ``i + 1``. Returns ``{'mDice', 'per_class': {c: Dice}, 'cases': [{'case',
    c: Dice}], 'num_volumes'}``: means over volumes (NaN left out), mDice the
    mean over classes, as :func:`summarize`.
    """
    labels = {name: i + 1 for i, name in enumerate(class_names)}
    by_volume: Dict[str, List[Tuple[Mapping[str, Any], np.ndarray]]] = defaultdict(list)
    for pred, meta in zip(preds, metas):
        by_volume[str(meta['volume_id'])].append((meta, pred))
    cases = []
    for vid in sorted(by_volume):
        items = sorted(by_volume[vid], key=lambda t: int(t[0]['slice_idx']))
        num = int(items[0][0]['num_slices'])
        if [int(m['slice_idx']) for m, _ in items] != list(range(num)):
            raise DataError(f'volume {vid}: probe predictions must cover slices 0..{num - 1} '
                            'exactly once; evaluate on whole volumes')
        path = items[0][0]['seg_map_path']
        if not path or not osp.isfile(path):
            raise DataError(f'reference label volume {path!r} of {vid} not found; the probe '
                            'needs labelled evaluation volumes (rebuild the volume cache)')
        gt = np.load(path, mmap_mode='r')
        pred = np.stack([p for _, p in items])
        if pred.shape != gt.shape:
            raise DataError(f'volume {vid}: prediction {pred.shape} and reference {path} '
                            f'{gt.shape} differ; ori_shape must be the slice grid')
        per_class = volume_metrics(pred, np.asarray(gt), items[0][0]['spacing'], labels)
        cases.append({'case': vid, **per_class})
    summary = summarize(cases, list(class_names))
    return {
        'mDice': float(summary['mean']['dice']),
        'per_class': {c: float(summary['per_class'][c]['dice']) for c in class_names},
        'cases': [{'case': c['case'], **{n: c[n]['dice'] for n in class_names if n in c}}
                  for c in summary['cases']],
        'num_volumes': len(cases),
    }


def _to_original(scores: torch.Tensor, metas: Sequence[Mapping[str, Any]]) -> List[np.ndarray]:
    """Argmax of each slice's class map after bilinear resizing to its ``ori_shape``."""
    out = []
    for s, meta in zip(scores, metas):
        shape = tuple(int(v) for v in meta['ori_shape'][:2])
        if tuple(s.shape[-2:]) != shape:
            s = F.interpolate(s[None], size=shape, mode='bilinear', align_corners=False)[0]
        out.append(s.argmax(0).to(torch.uint8).cpu().numpy())
    return out


def probe_encoder(encoder: nn.Module, data: ProbeData, iters: int = 300, lr: float = 0.01,
                  seed: int = 0, linear: bool = True, knn: bool = True, knn_k: int = 20,
                  knn_stride: int = 8, knn_temperature: float = 0.07, batch_size: int = 16,
                  progress: bool = True) -> Dict[str, Any]:
    """Linear probe and kNN label transfer of a frozen ``encoder`` on ``data``.

    The train features are computed once; the evaluation slices are processed
    in batches of ``batch_size`` (features, class maps at network size,
    resizing to ``ori_shape``, argmax), then scored per volume
    (:func:`volume_dice`). The encoder's train/eval mode is restored.

    Returns ``{'linear': {...}, 'knn': {...}, 'split', 'seed', 'class_names',
    'num_train_slices', 'num_test_slices'}``; each probe's dict is
    :func:`volume_dice`'s plus its settings (and ``train_loss`` for the linear
    probe). A probe switched off is left out.
    """
    if not (linear or knn):
        raise ConfigError('probe: switch on the linear probe, the kNN transfer or both')
    if knn:
        _grid(tuple(data.train.images.shape[-2:]), knn_stride)  # fail before any work
    mean, std = data.mean, data.std
    train_feats = extract_features(encoder, data.train.images, batch_size, mean, std,
                                   progress, 'probe: train features')
    device = train_feats[0].device
    train_labels = data.train.labels.to(device)
    result: Dict[str, Any] = dict(
        split=data.split, seed=int(seed), class_names=list(data.class_names),
        num_train_slices=len(data.train), num_test_slices=len(data.test))
    probe = knn_model = None
    if linear:
        probe, loss = fit_linear_probe(train_feats, train_labels, data.num_classes, iters, lr,
                                       seed=seed, progress=progress)
        result['linear'] = dict(iters=int(iters), lr=float(lr), train_loss=loss)
    if knn:
        knn_model = KNNTransfer(train_feats, train_labels, data.num_classes, knn_k, knn_stride,
                                knn_temperature)
        result['knn'] = dict(k=int(knn_k), stride=int(knn_stride),
                             temperature=float(knn_temperature))
    del train_feats
    preds: Dict[str, List[np.ndarray]] = {'linear': [], 'knn': []}
    size = tuple(data.test.images.shape[-2:])
    starts = range(0, len(data.test), batch_size)
    with torch.no_grad():
        for s in _progress(starts, progress, desc=f'probe: {data.split}', unit='batch',
                           leave=False):
            metas = data.test.metas[s:s + batch_size]
            feats = extract_features(encoder, data.test.images[s:s + batch_size], batch_size,
                                     mean, std)
            if probe is not None:
                preds['linear'] += _to_original(probe(feats, size), metas)
            if knn_model is not None:
                preds['knn'] += _to_original(knn_model.scores(feats), metas)
    for name in ('linear', 'knn'):
        if name in result:
            result[name].update(volume_dice(preds[name], data.test.metas, data.class_names))
    return result


def format_probe_table(result: Mapping[str, Any]) -> str:
    """Dice per class and mean, one row per probe, as a text table."""
    names = list(result['class_names'])
    width = max([6] + [len(n) for n in names])
    head = f'{"probe":<8}' + ''.join(f' {n:>{width}}' for n in names) + f' {"mean":>{width}}'
    lines = [head, '-' * len(head)]
    for probe in ('linear', 'knn'):
        if probe not in result:
            continue
        r = result[probe]
        vals = [r['per_class'][n] for n in names] + [r['mDice']]
        lines.append(f'{probe:<8}' + ''.join(
            f' {v:>{width}.3f}' if v == v else f' {"n/a":>{width}}' for v in vals))
    return '\n'.join(lines)
