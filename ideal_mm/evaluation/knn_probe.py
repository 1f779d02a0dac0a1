"""Dense kNN label transfer: each test cell votes with its nearest train cells'
label patches.

Formula in :mod:`ideal_mm.evaluation.probe`.
"""
from __future__ import annotations

import math
from typing import Tuple

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from .probe_features import Features, _channel_stats


def _cell_vectors(feats: Features, grid: Tuple[int, int], means: Features,
                  stds: Features) -> torch.Tensor:
    """(N, gh*gw, D) unit vectors of standardised, per-level normalised cell
    features."""
    parts = []
    for f, m, s in zip(feats, means, stds):
        z = (f - m) / s
        if z.shape[-2] >= grid[0] and z.shape[-1] >= grid[1]:
            z = F.adaptive_avg_pool2d(z, grid)
        else:
            z = F.interpolate(
                z, size=grid, mode='bilinear', align_corners=False)
        parts.append(F.normalize(z, dim=1))
    cells = torch.cat(parts, 1) / math.sqrt(len(parts))
    return cells.flatten(2).transpose(1, 2).contiguous()


def _grid(size: Tuple[int, int], stride: int) -> Tuple[int, int]:
    if stride < 1 or size[0] % stride or size[1] % stride:
        raise ConfigError(
            f'kNN stride={stride} must divide the network input size {size}')
    return size[0] // stride, size[1] // stride


class KNNTransfer:
    """Dense kNN label transfer (module docstring) with a fixed train memory
    bank.

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

    def __init__(self,
                 feats: Features,
                 labels: torch.Tensor,
                 num_classes: int,
                 k: int = 20,
                 stride: int = 8,
                 temperature: float = 0.07) -> None:
        if k < 1:
            raise ConfigError(f'kNN k={k} must be >= 1')
        if temperature <= 0:
            raise ConfigError(f'kNN temperature={temperature} must be > 0')
        self.size = tuple(int(s) for s in labels.shape[-2:])
        self.grid = _grid(self.size, stride)
        self.stride = int(stride)
        self.num_classes, self.k, self.temperature = num_classes, k, float(
            temperature)
        self.means, self.stds = _channel_stats(feats)
        self.bank = _cell_vectors(feats, self.grid, self.means,
                                  self.stds).flatten(0, 1)
        valid = (labels != 255)
        onehot = F.one_hot(
            labels.clamp(0, num_classes - 1).long(), num_classes)
        onehot = (onehot * valid[..., None]).float()  # (N, H, W, K)
        n, (gh, gw), st = labels.shape[0], self.grid, self.stride
        # (N, gh, s, gw, s, K) -> one row per cell: its (K, s, s) label patch
        patches = onehot.view(n, gh, st, gw, st,
                              num_classes).permute(0, 1, 3, 5, 2, 4)
        self.patches = patches.reshape(n * gh * gw, -1).to(self.bank.device)

    def scores(self, feats: Features, chunk: int = 4096) -> torch.Tensor:
        """Class scores (B, K, H, W) at network size of test features (one
        tensor per level)."""
        q = _cell_vectors(feats, self.grid, self.means, self.stds)
        b, cells, _ = q.shape
        q = q.flatten(0, 1)
        k = min(self.k, self.bank.shape[0])
        out = torch.empty(q.shape[0], self.patches.shape[1], device=q.device)
        for s in range(0, q.shape[0], chunk):
            sim = q[s:s + chunk] @ self.bank.T
            top, idx = sim.topk(k, dim=1)
            w = torch.softmax(
                top / self.temperature, dim=1)  # exp(s/T) / sum exp(s/T)
            out[s:s + chunk] = torch.einsum('qk,qkp->qp', w, self.patches[idx])
        (gh, gw), st = self.grid, self.stride
        out = out.view(b, gh, gw, self.num_classes, st,
                       st).permute(0, 3, 1, 4, 2, 5)
        return out.reshape(b, self.num_classes, gh * st, gw * st)


def knn_transfer_scores(train_feats: Features,
                        train_labels: torch.Tensor,
                        test_feats: Features,
                        num_classes: int,
                        k: int = 20,
                        stride: int = 8,
                        temperature: float = 0.07) -> torch.Tensor:
    """Class scores (B, K, H, W) of ``test_feats`` by :class:`KNNTransfer`."""
    return KNNTransfer(train_feats, train_labels, num_classes, k, stride,
                       temperature).scores(test_feats)
