"""The linear probe: a 1x1 convolution over the frozen encoder's standardised
levels.

Formula and training protocol in :mod:`ideal_mm.evaluation.probe`.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError, DataError
from .probe_data import maybe_tqdm
from .probe_features import Features, _channel_stats


class LinearProbe(nn.Module):
    """1x1 convolution over standardised, upsampled, concatenated encoder
    levels.

    ``forward(feats, size)`` returns
    ``b + sum_l up(W_l (f_l - mu_l) / sigma_l)`` (B, K, *size): exactly the
    1x1 convolution of the concatenation of the bilinearly upsampled levels
    (module docstring). ``W_l`` and ``b`` start at zero.

    Args:
        means, stds: per-level (1, C_l, 1, 1) channel statistics.
        num_classes: K, including the background.
    """

    def __init__(self, means: Features, stds: Features,
                 num_classes: int) -> None:
        super().__init__()
        self.num_levels = len(means)
        for i, (m, s) in enumerate(zip(means, stds)):
            self.register_buffer(f'mean_{i}', m.clone())
            self.register_buffer(f'std_{i}', s.clone())
        self.weights = nn.ParameterList([
            nn.Parameter(
                torch.zeros(num_classes, m.shape[1], device=m.device))
            for m in means
        ])
        self.bias = nn.Parameter(
            torch.zeros(num_classes, device=means[0].device))

    def standardise(self, feats: Features) -> Features:
        """``(f_l - mu_l) / sigma_l`` per level."""
        if len(feats) != self.num_levels:
            raise ValueError(
                f'expected {self.num_levels} feature levels, got {len(feats)}')
        return [(f - getattr(self, f'mean_{i}')) / getattr(self, f'std_{i}')
                for i, f in enumerate(feats)]

    def forward(self,
                feats: Features,
                size: Tuple[int, int],
                standardised: bool = False) -> torch.Tensor:
        """Class logits (B, K, H, W) at ``size`` (``standardised``: feats are
        ``z_l``)."""
        zs = feats if standardised else self.standardise(feats)
        if len(zs) != self.num_levels:
            raise ValueError(
                f'expected {self.num_levels} feature levels, got {len(zs)}')
        out = None
        for i, z in enumerate(zs):
            y = torch.einsum('kc,bchw->bkhw', self.weights[i], z)
            if tuple(y.shape[-2:]) != tuple(size):
                y = F.interpolate(
                    y, size=size, mode='bilinear', align_corners=False)
            out = y if out is None else out + y
        return out + self.bias.view(1, -1, 1, 1)


@contextlib.contextmanager
def _cpu_threads(num: Optional[int]) -> Iterator[None]:
    """Run the block with ``num`` intra-op CPU threads (None: unchanged), then
    restore."""
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
    """(P, D) rows of the upsampled, concatenated levels at sampled pixels, and
    their labels.

    Each slice gives ``ceil(num_pixels / N)`` pixels drawn uniformly without
    replacement (all of them if it has fewer); pixels labelled 255 are dropped.
    """
    n, (h, w) = labels.shape[0], tuple(labels.shape[-2:])
    per = max(1, min(h * w, -(-num_pixels // n)))
    rows, targets = [], []
    for i in range(n):
        idx = torch.randperm(h * w, generator=gen)[:per].to(labels.device)
        up = [
            z[i:i + 1] if tuple(z.shape[-2:]) == (h, w) else F.interpolate(
                z[i:i + 1], size=(h, w), mode='bilinear', align_corners=False)
            for z in zs
        ]
        rows.append(torch.cat(up, 1).flatten(2)[0][:, idx].T)
        targets.append(labels[i].flatten()[idx])
    x, y = torch.cat(rows), torch.cat(targets)
    keep = y != 255
    return x[keep].contiguous(), y[keep]


def fit_linear_probe(feats: Features,
                     labels: torch.Tensor,
                     num_classes: int,
                     iters: int = 300,
                     lr: float = 0.01,
                     num_pixels: int = 65536,
                     batch_pixels: int = 8192,
                     weight_decay: float = 0.0,
                     seed: int = 0,
                     progress: bool = False) -> Tuple[LinearProbe, float]:
    """Train a :class:`LinearProbe` with pixel cross-entropy on cached
    features.

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
        raise ConfigError(
            f'probe num_pixels={num_pixels} and batch_pixels={batch_pixels} '
            'must be >= 1')
    n = labels.shape[0]
    if n == 0 or any(f.shape[0] != n for f in feats):
        raise ValueError(
            'features and labels must hold the same, non-zero number of slices'
        )
    means, stds = _channel_stats(feats)
    probe = LinearProbe(means, stds, num_classes)
    device = means[0].device
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        x, y = _pixel_features(
            probe.standardise(feats), labels.to(device), num_pixels, gen)
    if y.numel() == 0:
        raise DataError(
            'every sampled train pixel is labelled 255 (ignored); the linear '
            'probe needs labelled pixels')
    if int(y.max()) >= num_classes:
        raise DataError(
            f'train label {int(y.max())} >= num_classes={num_classes}')
    # one shuffle; the mini-batches are then consecutive slices (views, no
    # copies)
    perm = torch.randperm(y.numel(), generator=gen).to(device)
    x, y = x[perm], y[perm]
    weight = torch.zeros(
        num_classes, x.shape[1], device=device, requires_grad=True)
    bias = torch.zeros(num_classes, device=device, requires_grad=True)
    optim = torch.optim.Adam([weight, bias], lr=lr, weight_decay=weight_decay)
    losses: List[float] = []
    bs = min(batch_pixels, y.numel())
    num_batches = y.numel() // bs
    with torch.enable_grad(), _cpu_threads(1 if device.type ==
                                           'cpu' else None):
        for step in maybe_tqdm(
                range(iters),
                progress,
                desc='probe: linear',
                unit='it',
                leave=False):
            b = (step % num_batches) * bs
            loss = F.cross_entropy(
                F.linear(x[b:b + bs], weight, bias), y[b:b + bs])
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            losses.append(float(loss.detach()))
    with torch.no_grad():
        for w_l, part in zip(
                probe.weights,
                weight.detach().split([int(m.shape[1]) for m in means],
                                      dim=1)):
            w_l.copy_(part)
        probe.bias.copy_(bias.detach())
    probe.eval()
    tail = losses[-max(1, len(losses) // 10):]
    return probe, float(sum(tail) / len(tail))
