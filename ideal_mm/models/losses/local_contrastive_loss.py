"""Chaitanya et al.'s local contrastive loss on decoder feature maps.

"Contrastive learning of global and local features for medical image
segmentation with limited annotations" (NeurIPS 2020; krishnabits001/
domain_specific_cl, models.py ``decoder_pretrain_net``,
``local_loss_exp_no=0``)
pre-trains the first decoder blocks on unlabelled slices: two views of a slice
that differ only in intensity, so that location ``(y, x)`` of one view's
feature map corresponds to ``(y, x)`` of the other's; a fixed set of local
regions is contrasted against nearby regions of both views. The project's
``DenseContrastiveLoss`` samples positions at random and contrasts all of them
(IDEAL's loss), so the published fixed layout is written here.

Layout (``region_size=3``, the published run): on an ``H x W`` feature map,
``m_y = H - 4``, ``m_x = W - 4`` and the grid ``q(k, m) = int(k * m / 4)``
for ``k`` in 0..4. The 13 positive regions have top-left corners at the 3 x 3
grid ``k in {0, 2, 4}`` plus ``k in {1, 3}`` x ``{1, 3}``; each has 5
negative regions nearby (``NEGATIVES_3X3``). A region is the ``s x s`` block
from its corner, flattened (channels first) and, if ``in_channels`` is given,
mapped by a linear layer without bias to ``embed_dim`` (the official
``wgt_en=1`` 128-d layer). ``region_size=1`` uses ``m = H - 1`` and the
official 1 x 1 table (``NEGATIVES_1X1``).
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS

from ideal_mm.errors import ConfigError

# corners in quarter-grid units (row k, column l) -> (q(k, m_y), q(l, m_x))
POSITIVES: Tuple[Tuple[int, int],
                 ...] = ((0, 0), (0, 2), (0, 4), (2, 0), (2, 2), (2, 4),
                         (4, 0), (4, 2), (4, 4), (1, 1), (1, 3), (3, 1), (3,
                                                                          3))
NEGATIVES_3X3: Tuple[Tuple[Tuple[int, int], ...],
                     ...] = (((0, 2), (1, 1), (1, 2), (2, 0), (2, 1)),
                             ((0, 0), (0, 4), (1, 1), (1, 3),
                              (2, 2)), ((0, 2), (1, 2), (1, 3), (2, 3),
                                        (2, 4)), ((0, 0), (1, 1), (2, 2),
                                                  (4, 0), (3, 1)),
                             ((1, 1), (1, 3), (3, 1), (3, 3),
                              (2, 0)), ((0, 4), (2, 2), (4, 4), (1, 3),
                                        (3, 3)), ((2, 0), (2, 1), (4, 2),
                                                  (3, 1), (3, 2)),
                             ((2, 2), (4, 0), (4, 4), (3, 1),
                              (3, 3)), ((2, 3), (2, 4), (4, 2), (3, 3),
                                        (3, 2)), ((0, 0), (0, 2), (2, 0),
                                                  (2, 2), (1, 3)),
                             ((0, 2), (0, 4), (1, 1), (2, 2),
                              (2, 4)), ((2, 0), (2, 2), (4, 0), (4, 2),
                                        (3, 3)), ((2, 2), (2, 4), (4, 2),
                                                  (4, 4), (3, 1)))
NEGATIVES_1X1: Tuple[Tuple[Tuple[int, int], ...],
                     ...] = (((0, 2), (2, 0), (2, 2), (1, 1), (1, 3)),
                             ((0, 0), (0, 4), (2, 2), (1, 1),
                              (1, 3)), ((0, 2), (2, 2), (2, 4), (3, 1),
                                        (1, 3)), ((0, 0), (2, 2), (4, 0),
                                                  (1, 1), (3, 1)),
                             ((1, 1), (1, 3), (3, 1), (3, 3),
                              (2, 0)), ((0, 4), (2, 2), (4, 4), (1, 3),
                                        (3, 3)), ((2, 0), (2, 2), (4, 2),
                                                  (3, 1), (1, 1)),
                             ((2, 2), (4, 0), (4, 4), (3, 1),
                              (3, 3)), ((2, 2), (2, 4), (4, 2), (3, 3),
                                        (3, 1)), ((0, 0), (0, 2), (2, 0),
                                                  (2, 2), (1, 3)),
                             ((0, 2), (0, 4), (2, 2), (2, 4),
                              (3, 3)), ((2, 0), (2, 2), (4, 0), (0, 2),
                                        (1, 1)), ((2, 2), (2, 4), (4, 2),
                                                  (4, 4), (1, 3)))


def local_region_layout(
    height: int,
    width: int,
    region_size: int = 3
) -> Tuple[List[Tuple[int, int]], List[List[Tuple[int, int]]]]:
    """Top-left corners (row, col) of the 13 positive regions and of each
    one's 5 negative regions on an ``height x width`` feature map."""
    if region_size not in (1, 3):
        raise ConfigError(f'local contrastive region_size={region_size!r} '
                          'must be 1 or 3 (the published layouts)')
    margin = 4 if region_size == 3 else 1
    m_y, m_x = int(height) - margin, int(width) - margin
    if m_y < 0 or m_x < 0:
        raise ValueError(
            f'local contrastive loss: a {height}x{width} feature map is too '
            f'small for {region_size}x{region_size} regions; take the '
            f'features of an earlier decoder block (at least {margin}x'
            f'{margin})')

    def corner(q: Tuple[int, int]) -> Tuple[int, int]:
        return int(q[0] * m_y / 4), int(q[1] * m_x / 4)

    table = NEGATIVES_3X3 if region_size == 3 else NEGATIVES_1X1
    positives = [corner(q) for q in POSITIVES]
    negatives = [[corner(q) for q in row] for row in table]
    return positives, negatives


@MODELS.register_module()
class LocalContrastiveLoss(nn.Module):
    """Local contrastive loss of Chaitanya et al. 2020 (``L_R`` variant).

    For each slice ``i`` with feature maps ``a = f(x_a1_i)``,
    ``b = f(x_a2_i)`` (N, C, H, W), each positive region ``k`` with
    negatives ``Neg(k)``, ``z`` the (projected) region vectors and
    ``s(u, v) = cos(u, v) / T``::

        l(a, b, k) = -log( e^{s(a_k, b_k)} / (e^{s(a_k, b_k)}
                     + sum_{n in Neg(k)} [e^{s(a_k, a_n)} + e^{s(a_k, b_n)}]) )
        loss = loss_weight * sum_i sum_k [l(a, b, k) + l(b, a, k)] / (K 2N)

    with ``K`` = 13 regions and ``2N`` the images of the batch (N slices, two
    views each): the official ``local_loss / no_of_local_regions / bs`` with
    ``bs = 2 * batch_size``, i.e. the mean over slices, directions and
    regions.

    Args:
        temperature: T (official: 0.1).
        region_size: 3 (3 x 3 regions, the published run) or 1.
        in_channels: channels C of the feature map; given, region vectors are
            mapped by ``Linear(C * s * s, embed_dim, bias=False)`` (trained
            with the network, as ``wgt_en=1``); None: no mapping.
        embed_dim: output size of that layer (official: 128).
        loss_weight: multiplier.
        loss_name: key in the loss dict; must start with ``loss_``.
    """

    def __init__(self,
                 temperature: float = 0.1,
                 region_size: int = 3,
                 in_channels: Optional[int] = None,
                 embed_dim: int = 128,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_local_contrast') -> None:
        super().__init__()
        if not float(temperature) > 0:
            raise ConfigError('LocalContrastiveLoss.temperature='
                              f'{temperature!r} must be > 0')
        if region_size not in (1, 3):
            raise ConfigError('LocalContrastiveLoss.region_size='
                              f'{region_size!r} must be 1 or 3')
        if not loss_name.startswith('loss_'):
            raise ConfigError(f'LocalContrastiveLoss.loss_name={loss_name!r}'
                              " must start with 'loss_' (mmseg convention)")
        self.temperature = float(temperature)
        self.region_size = int(region_size)
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name
        self.proj: Optional[nn.Linear] = None
        if in_channels is not None:
            self.proj = nn.Linear(
                int(in_channels) * region_size**2, int(embed_dim), bias=False)

    def _regions(self, feat: torch.Tensor,
                 corners: List[Tuple[int, int]]) -> torch.Tensor:
        """(N, R, D) region vectors at ``corners``, L2-normalised."""
        s = self.region_size
        vecs = torch.stack(
            [feat[:, :, y:y + s, x:x + s].flatten(1) for y, x in corners],
            dim=1)
        if self.proj is not None:
            vecs = self.proj(vecs)
        return F.normalize(vecs, dim=-1)

    def forward(self, feat_a: torch.Tensor, feat_b: torch.Tensor,
                **kwargs) -> torch.Tensor:
        """feat_a, feat_b: (N, C, H, W) decoder features of the two views."""
        if feat_a.dim() != 4 or feat_a.shape != feat_b.shape:
            raise ValueError(
                'LocalContrastiveLoss: the two views need feature maps of one '
                f'shape (N, C, H, W); got {tuple(feat_a.shape)} and '
                f'{tuple(feat_b.shape)}')
        expected = (self.proj.in_features if self.proj is not None else None)
        got = feat_a.shape[1] * self.region_size**2
        if expected is not None and got != expected:
            raise ValueError(
                f'LocalContrastiveLoss: in_channels gives {expected} region '
                f'features, the feature map gives {got}; set in_channels to '
                f'{feat_a.shape[1]}')
        positives, negatives = local_region_layout(feat_a.shape[2],
                                                   feat_a.shape[3],
                                                   self.region_size)
        k = len(positives)
        flat_neg = [c for row in negatives for c in row]
        za, zb = self._regions(feat_a,
                               positives), self._regions(feat_b, positives)
        na = self._regions(feat_a, flat_neg).unflatten(1, (k, -1))
        nb = self._regions(feat_b, flat_neg).unflatten(1, (k, -1))
        t = self.temperature
        pos = (za * zb).sum(-1) / t  # (N, K), symmetric

        def one_way(z: torch.Tensor, same: torch.Tensor,
                    other: torch.Tensor) -> torch.Tensor:
            neg = torch.cat([(z.unsqueeze(2) * same).sum(-1),
                             (z.unsqueeze(2) * other).sum(-1)],
                            dim=2) / t
            logits = torch.cat([pos.unsqueeze(2), neg], dim=2)
            return -(pos - torch.logsumexp(logits, dim=2))

        loss = one_way(za, na, nb) + one_way(zb, nb, na)
        return self.loss_weight * loss.sum() / (k * 2 * feat_a.shape[0])

    @property
    def loss_name(self) -> str:
        """Key of this loss in the loss dict (mmseg convention)."""
        return self._loss_name
