"""Pseudo-labels from a weak view: confident, detached hard labels, padding
ignored.

Pure functions on tensors; :class:`~.unlabelled_signal.UnlabelledSignalMixin`
applies them per stream.
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Sequence, Tuple

import torch
from mmseg.structures import SegDataSample


def padding_mask(data_samples: Sequence[SegDataSample], idx: Sequence[int],
                 size: Tuple[int, int], device: torch.device) -> torch.Tensor:
    """Boolean (len(idx), H, W): True on pixels that are not batch padding.

    ``SegDataPreProcessor`` pads images to a common size and records
    ``padding_size = (left, right, top, bottom)``; pseudo-labels on padding
    would teach the decoders the padding value, so it is ignored.
    """
    h, w = size
    mask = torch.ones((len(idx), h, w), dtype=torch.bool, device=device)
    for row, i in enumerate(idx):
        left, right, top, bottom = data_samples[i].metainfo.get(
            'padding_size', (0, 0, 0, 0))
        if right:
            mask[row, :, w - right:] = False
        if bottom:
            mask[row, h - bottom:, :] = False
        if left:
            mask[row, :, :left] = False
        if top:
            mask[row, :top, :] = False
    return mask


def class_thresholds(conf: torch.Tensor, labels: torch.Tensor,
                     valid: torch.Tensor, threshold: float, portion: float,
                     num_classes: int) -> torch.Tensor:
    """Per-class thresholds ``t_c = min(threshold, q_c)`` (CBST).

    ``q_c`` is the confidence of the ``ceil(portion * n_c)``-th most confident
    of the ``n_c`` valid pixels predicted as class c in the batch, so at least
    that portion of every predicted class is kept even when the class is
    never as confident as ``threshold`` (class-balanced self-training, Zou et
    al., ECCV 2018). Classes not predicted get ``threshold``.
    """
    out = torch.full((num_classes, ), float(threshold), device=conf.device)
    for c in range(num_classes):
        vals = conf[valid & (labels == c)]
        if vals.numel():
            k = max(1, int(math.ceil(portion * vals.numel())))
            q = vals.topk(k).values[-1]
            out[c] = torch.minimum(out[c], q)
    return out


def pseudo_labels(
    logits: torch.Tensor,
    conf_threshold: Optional[float],
    ignore_index: int,
    valid: Optional[torch.Tensor] = None,
    align: Optional[Callable] = None,
    class_portion: Optional[float] = None
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Hard pseudo-labels ``y = argmax softmax(logits)`` without gradient.

    ``align`` (optional) maps the softmax probabilities to the ones labels
    and confidence are taken from (distribution alignment). Pixels whose
    maximum probability is below the threshold or where ``valid`` is False
    are set to ``ignore_index``; the threshold is ``conf_threshold`` (if
    given), or per class :func:`class_thresholds` when ``class_portion`` is
    given too.

    Returns:
        (labels (N, H, W) long, kept (N, H, W) bool).
    """
    with torch.no_grad():
        prob = logits.detach().float().softmax(dim=1)
        if align is not None:
            prob = align(prob)
        conf, labels = prob.max(dim=1)
        kept = torch.ones_like(labels, dtype=torch.bool)
        if conf_threshold is not None:
            if class_portion is not None:
                mask = valid if valid is not None else kept
                thr = class_thresholds(conf, labels, mask, conf_threshold,
                                       class_portion, prob.shape[1])
                kept &= conf >= thr[labels]
            else:
                kept &= conf >= conf_threshold
        if valid is not None:
            kept &= valid
        labels = torch.where(kept, labels,
                             torch.full_like(labels, ignore_index))
    return labels, kept
