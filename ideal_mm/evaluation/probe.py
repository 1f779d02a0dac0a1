"""Encoder probes: how good is a frozen encoder for segmentation, without
fine-tuning?

Self-supervised toolboxes (mmpretrain) read an encoder's quality with a linear
classifier on its frozen features; mmseg and mmpretrain have no *dense* probe
on per-volume medical data, so it is written here. Two probes share the data
and the frozen encoder ``E`` (eval mode: BatchNorm uses its running statistics;
no gradient ever reaches ``E``):

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
upsampling hundreds of channels. ``W_l`` and ``b`` start at zero and minimise
the pixel cross-entropy with Adam on mini-batches of pixels of the labelled
train slices: the encoder runs once on those slices, and the probe's input
vectors (standardised, upsampled, concatenated) are cached for a seeded uniform
sample of their pixels, so a step is one small matrix product.

**Dense kNN label transfer.** Each slice's features are resampled to a grid of
cells of ``stride x stride`` input pixels (area averaging for finer levels,
bilinear for coarser ones), standardised as above and L2-normalised per level;
the levels are concatenated and scaled by ``1/sqrt(L)``, so the cosine of two
cell vectors is the mean over levels of the per-level cosines. A train cell's
label is its ``stride x stride`` one-hot label patch ``q_j``. A test cell takes
its ``k`` most similar train cells (cosine ``s_j``) and scores class ``c`` at
pixel ``p`` of the cell with
``sum_j exp(s_j / T) q_j[c, p] / sum_j exp(s_j / T)`` (DINO's weighted kNN
vote, applied to label patches as in patch-based label fusion): one
similarity per cell, labels at full resolution.

**Evaluation** follows the test protocol (``tools/test.py``, ACDCVolumeMetric):
slices at network size (the config's test pipeline), class maps resized
bilinearly to each slice's original grid, argmax, slices stacked per volume,
and per-volume, per-class Dice against the cached reference volume
(:func:`ideal_mm.evaluation.functional.volume_metrics`), averaged over volumes
and classes as :func:`ideal_mm.evaluation.report.summarize` does (NaN, a class
absent from both maps, left out).

Deterministic given ``seed``: the probe's weights start at zero, the pixel
sample and the mini-batches come from a seeded ``torch.Generator``, and the
global random state is not touched (a hook may probe in the middle of
training).

This module runs both probes (:func:`probe_encoder`) and re-exports the parts:
the data (:mod:`.probe_data`), the frozen encoder and its features
(:mod:`.probe_features`), the linear probe (:mod:`.linear_probe`), the kNN
transfer (:mod:`.knn_probe`) and the per-volume report (:mod:`.probe_report`).
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError
from .knn_probe import KNNTransfer, _grid, knn_transfer_scores
from .linear_probe import LinearProbe, fit_linear_probe
from .probe_data import ProbeData, ProbeSlices, load_probe_data, maybe_tqdm
from .probe_features import build_probe_encoder, extract_features
from .probe_report import format_probe_table, volume_dice

__all__ = [
    'KNNTransfer', 'LinearProbe', 'ProbeData', 'ProbeSlices',
    'build_probe_encoder', 'extract_features', 'fit_linear_probe',
    'format_probe_table', 'knn_transfer_scores', 'load_probe_data',
    'probe_encoder', 'volume_dice'
]


def _to_original(scores: torch.Tensor,
                 metas: Sequence[Mapping[str, Any]]) -> List[np.ndarray]:
    """Argmax of each slice's class map after bilinear resizing to its
    ``ori_shape``."""
    out = []
    for s, meta in zip(scores, metas):
        shape = tuple(int(v) for v in meta['ori_shape'][:2])
        if tuple(s.shape[-2:]) != shape:
            s = F.interpolate(
                s[None], size=shape, mode='bilinear', align_corners=False)[0]
        out.append(s.argmax(0).to(torch.uint8).cpu().numpy())
    return out


def probe_encoder(encoder: nn.Module,
                  data: ProbeData,
                  iters: int = 300,
                  lr: float = 0.01,
                  seed: int = 0,
                  linear: bool = True,
                  knn: bool = True,
                  knn_k: int = 20,
                  knn_stride: int = 8,
                  knn_temperature: float = 0.07,
                  batch_size: int = 16,
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
        raise ConfigError(
            'probe: switch on the linear probe, the kNN transfer or both')
    if knn:
        _grid(tuple(data.train.images.shape[-2:]),
              knn_stride)  # fail before any work
    mean, std = data.mean, data.std
    train_feats = extract_features(encoder, data.train.images, batch_size,
                                   mean, std, progress,
                                   'probe: train features')
    device = train_feats[0].device
    train_labels = data.train.labels.to(device)
    result: Dict[str, Any] = dict(
        split=data.split,
        seed=int(seed),
        class_names=list(data.class_names),
        num_train_slices=len(data.train),
        num_test_slices=len(data.test))
    probe = knn_model = None
    if linear:
        probe, loss = fit_linear_probe(
            train_feats,
            train_labels,
            data.num_classes,
            iters,
            lr,
            seed=seed,
            progress=progress)
        result['linear'] = dict(
            iters=int(iters), lr=float(lr), train_loss=loss)
    if knn:
        knn_model = KNNTransfer(train_feats, train_labels, data.num_classes,
                                knn_k, knn_stride, knn_temperature)
        result['knn'] = dict(
            k=int(knn_k),
            stride=int(knn_stride),
            temperature=float(knn_temperature))
    del train_feats
    preds: Dict[str, List[np.ndarray]] = {'linear': [], 'knn': []}
    size = tuple(data.test.images.shape[-2:])
    starts = range(0, len(data.test), batch_size)
    with torch.no_grad():
        for s in maybe_tqdm(
                starts,
                progress,
                desc=f'probe: {data.split}',
                unit='batch',
                leave=False):
            metas = data.test.metas[s:s + batch_size]
            feats = extract_features(encoder,
                                     data.test.images[s:s + batch_size],
                                     batch_size, mean, std)
            if probe is not None:
                preds['linear'] += _to_original(probe(feats, size), metas)
            if knn_model is not None:
                preds['knn'] += _to_original(knn_model.scores(feats), metas)
    for name in ('linear', 'knn'):
        if name in result:
            result[name].update(
                volume_dice(preds[name], data.test.metas, data.class_names))
    return result
