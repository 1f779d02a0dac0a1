"""IDEAL's dense contrastive loss, and the optional image-level InfoNCE.

mmseg's losses compare predictions with labels; none compares two grids of
embeddings through a known correspondence, so the loss is written here.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS

from ideal_mm.errors import ConfigError


def _zero_with_grad(*tensors: torch.Tensor) -> torch.Tensor:
    """A zero scalar connected to ``tensors`` (so backward() still works)."""
    return sum(t.sum() for t in tensors) * 0.0


@MODELS.register_module()
class DenseContrastiveLoss(nn.Module):
    r"""Dense local contrastive loss: InfoNCE + metric (dis)similarity term.

    Inputs: query embeddings ``q`` (B, C, H, W), key embeddings ``k``
    (B, C, Hk, Wk) of the other view (both L2-normalised over C), and for each
    query location the corresponding key location ``corr`` (B, H, W, 2) as
    ``(x, y)`` normalised coordinates of the key view in
    :func:`torch.nn.functional.grid_sample`'s ``align_corners=False``
    convention (-1 and 1 are the outer edges of the view), with a boolean
    ``valid`` (B, H, W) that is False where the location left either view.

    Procedure. The key embedding at each query location is sampled
    bilinearly, :math:`\hat k = \mathrm{normalize}(\mathrm{grid\_sample}(k,
    corr))`. In every image at most ``num_samples`` valid locations are drawn
    uniformly without replacement; the N drawn locations of the whole batch
    give rows :math:`q_i, \hat k_i` (i = 1..N) and the cosine similarity
    matrix :math:`S_{ij} = q_i \cdot \hat k_j`. Pair (i, i) is the positive;
    the negatives :math:`\mathcal N(i)` are all locations of the other images
    and the locations of the same image whose query-grid distance to i is at
    least ``neg_min_dist`` (in units of the view side; 0, the default, keeps
    every other location of the image; ``same_image_negatives=False`` drops
    them all, as DenseCL, whose negatives come from other images only).
    Excluding near neighbours stops the loss from pushing apart adjacent cells
    of the same tissue, which segmentation wants close.

    .. math::

        L_{nce}^{q\to k} &= \frac{1}{N}\sum_i -\log
            \frac{\exp(S_{ii}/\tau)}{\exp(S_{ii}/\tau) + \sum_{j \in
            \mathcal N(i)}\exp(S_{ij}/\tau)} \\
        L_{nce} &= \tfrac12 (L_{nce}^{q\to k} + L_{nce}^{k\to q})
            \ \text{if symmetric (}L^{k\to q}\text{ uses } S^T\text{), else }
            L_{nce}^{q\to k} \\
        L_{pos} &= \frac{1}{N}\sum_i (1 - S_{ii}) \\
        L_{neg} &= \frac{1}{\sum_i |\mathcal N(i)|}\sum_i \sum_{j \in
            \mathcal N(i)} \max(0, S_{ij} - m) \\
        L &= w\,\big(w_{nce} L_{nce} + w_{metric} (L_{pos} + L_{neg})\big)

    (:math:`L_{neg} = 0` when there is no negative.) The metric term follows
    the paper's description of its dense (dis)similarity loss: pull
    corresponding embeddings together, push non-corresponding ones below a
    cosine margin. Invalid locations never contribute; a batch without any
    valid location gives 0 (still attached to the graph).

    Args:
        tau: temperature :math:`\tau` (default 0.1).
        num_samples: at most this many locations per image (default 256),
            which bounds the N x N similarity matrix.
        margin: cosine margin m of the negative term (default 0.5: negatives
            whose cosine is already below 0.5 are not pushed further, so that
            similar tissue at another location may stay moderately similar).
        loss_weight: w (default 1.0).
        infonce_weight: :math:`w_{nce}` (default 1.0).
        metric_weight: :math:`w_{metric}` (default 1.0).
        symmetric: also use key -> query InfoNCE (default True).
        same_image_negatives: whether locations of the same image can be
            negatives at all (default True).
        neg_min_dist: same-image locations closer than this to the query
            location (Euclidean distance between query-grid cell centres,
            in units of the view's side) are not negatives (default 0.0).
        align_corners: grid_sample convention of ``corr`` (default False).
        loss_name: key of the loss in the loss dict (default 'loss_dense').
    """

    def __init__(self,
                 tau: float = 0.1,
                 num_samples: int = 256,
                 margin: float = 0.5,
                 loss_weight: float = 1.0,
                 infonce_weight: float = 1.0,
                 metric_weight: float = 1.0,
                 symmetric: bool = True,
                 same_image_negatives: bool = True,
                 neg_min_dist: float = 0.0,
                 align_corners: bool = False,
                 loss_name: str = 'loss_dense') -> None:
        super().__init__()
        if tau <= 0:
            raise ConfigError(f'loss.tau must be > 0, got {tau}')
        if num_samples < 1:
            raise ConfigError(
                f'loss.num_samples must be >= 1, got {num_samples}')
        if not loss_name.startswith('loss_'):
            raise ConfigError(
                f"loss.loss_name must start with 'loss_' (mmengine sums only "
                f"such keys), got {loss_name!r}")
        if neg_min_dist < 0:
            raise ConfigError(
                f'loss.neg_min_dist must be >= 0 (a fraction of the view '
                f'side), got {neg_min_dist}')
        self.same_image_negatives = bool(same_image_negatives)
        self.neg_min_dist = float(neg_min_dist)
        self.tau = float(tau)
        self.num_samples = int(num_samples)
        self.margin = float(margin)
        self.loss_weight = float(loss_weight)
        self.infonce_weight = float(infonce_weight)
        self.metric_weight = float(metric_weight)
        self.symmetric = bool(symmetric)
        self.align_corners = bool(align_corners)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """Key of this loss in the loss dict (mmseg convention)."""
        return self._loss_name

    def sample_pairs(self,
                     q: torch.Tensor,
                     k: torch.Tensor,
                     corr: torch.Tensor,
                     valid: torch.Tensor,
                     return_meta: bool = False) -> Tuple[torch.Tensor, ...]:
        """Return the sampled (N, C) query rows and their (N, C) key rows,
        and with ``return_meta`` also each row's image index (N,) and its
        query-grid cell centre (N, 2) as (x, y) in units of the view side."""
        if q.dim() != 4 or k.dim() != 4 or q.shape[:2] != k.shape[:2]:
            raise ValueError(
                f'q and k must be (B, C, H, W) with equal B and C, got '
                f'{tuple(q.shape)} and {tuple(k.shape)}')
        b, c, h, w = q.shape
        if corr.shape != (b, h, w, 2) or valid.shape != (b, h, w):
            raise ValueError(
                f'corr must be {(b, h, w, 2)} and valid {(b, h, w)}, got '
                f'{tuple(corr.shape)} and {tuple(valid.shape)}')
        k_at = F.grid_sample(
            k,
            corr.to(k.dtype),
            mode='bilinear',
            padding_mode='border',
            align_corners=self.align_corners)
        k_at = F.normalize(k_at, dim=1)
        q_flat = q.flatten(2).transpose(1, 2)  # (B, HW, C)
        k_flat = k_at.flatten(2).transpose(1, 2)
        valid_flat = valid.reshape(b, -1).bool()
        q_rows, k_rows, img_idx, cells = [], [], [], []
        for i in range(b):
            idx = valid_flat[i].nonzero(as_tuple=False).squeeze(1)
            if idx.numel() > self.num_samples:
                pick = torch.randperm(idx.numel(), device=idx.device)
                idx = idx[pick[:self.num_samples]]
            q_rows.append(q_flat[i, idx])
            k_rows.append(k_flat[i, idx])
            if return_meta:
                img_idx.append(torch.full_like(idx, i))
                cells.append(
                    torch.stack([((idx % w).float() + 0.5) / w,
                                 ((idx // w).float() + 0.5) / h],
                                dim=1))
        if not return_meta:
            return torch.cat(q_rows), torch.cat(k_rows)
        return (torch.cat(q_rows), torch.cat(k_rows), torch.cat(img_idx),
                torch.cat(cells))

    def negative_mask(self, img_idx: torch.Tensor,
                      cells: torch.Tensor) -> torch.Tensor:
        """(N, N) bool, True where j is a negative of i (used when
        ``same_image_negatives=False`` or ``neg_min_dist > 0``)."""
        same = img_idx[:, None] == img_idx[None, :]
        if self.same_image_negatives:
            near = torch.cdist(cells, cells) < self.neg_min_dist
            return ~(same & near)
        return ~same

    def pair_losses(
            self,
            q_rows: torch.Tensor,
            k_rows: torch.Tensor,
            neg_mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """Unweighted ``nce``, ``pos`` and ``neg`` terms for matched rows.

        ``neg_mask`` (N, N) bool marks the negatives of each row (symmetric;
        the diagonal is ignored); None means every other row.
        """
        n = q_rows.shape[0]
        sim = q_rows @ k_rows.t()
        target = torch.arange(n, device=sim.device)
        eye = torch.eye(n, dtype=torch.bool, device=sim.device)
        negs = ~eye if neg_mask is None else (neg_mask & ~eye)
        logits = sim / self.tau
        if neg_mask is not None:
            logits = logits.masked_fill(~(negs | eye), float('-inf'))
        nce = F.cross_entropy(logits, target)
        if self.symmetric:
            nce = 0.5 * (nce + F.cross_entropy(logits.t(), target))
        pos = (1.0 - sim.diagonal()).mean()
        if bool(negs.any()):
            neg = F.relu(sim[negs] - self.margin).mean()
        else:
            neg = sim.sum() * 0.0
        return dict(nce=nce, pos=pos, neg=neg)

    def forward(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        corr: torch.Tensor,
        valid: torch.Tensor,
        return_components: bool = False
    ) -> Union[torch.Tensor, Dict[str, torch.Tensor]]:
        """The weighted loss L (a scalar), or a dict with ``loss`` and the
        unweighted ``nce``/``pos``/``neg`` terms and ``num_pairs`` N when
        ``return_components``."""
        restricted = not self.same_image_negatives or self.neg_min_dist > 0
        # image index and cell centres only when the negatives need them
        q_rows, k_rows, *meta = self.sample_pairs(
            q, k, corr, valid, return_meta=restricted)
        if q_rows.shape[0] == 0:
            zero = _zero_with_grad(q, k)
            parts = dict(nce=zero, pos=zero, neg=zero)
        else:
            neg_mask = self.negative_mask(*meta) if restricted else None
            parts = self.pair_losses(q_rows, k_rows, neg_mask)
        loss = self.loss_weight * (
            self.infonce_weight * parts['nce'] + self.metric_weight *
            (parts['pos'] + parts['neg']))
        if not return_components:
            return loss
        return dict(
            loss=loss, num_pairs=torch.tensor(float(q_rows.shape[0])), **parts)


@MODELS.register_module()
class GlobalContrastiveLoss(nn.Module):
    r"""Image-level InfoNCE across the images of a batch (optional term).

    For L2-normalised image embeddings :math:`q, k` (B, C) of the two views,
    :math:`S = q k^T` and

    .. math::

        L = w \cdot \frac{1}{B}\sum_i -\log
            \frac{\exp(S_{ii}/\tau)}{\sum_j \exp(S_{ij}/\tau)}

    averaged with the same term on :math:`S^T` when ``symmetric``. It is the
    "global contrastive" counterpart of :class:`DenseContrastiveLoss`.

    Args:
        tau: temperature (default 0.1).
        symmetric: also key -> query (default True).
        loss_weight: w (default 1.0).
        loss_name: default 'loss_global'.
    """

    def __init__(self,
                 tau: float = 0.1,
                 symmetric: bool = True,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_global') -> None:
        super().__init__()
        if tau <= 0:
            raise ConfigError(f'global_loss.tau must be > 0, got {tau}')
        if not loss_name.startswith('loss_'):
            raise ConfigError(
                f"global_loss.loss_name must start with 'loss_', got "
                f'{loss_name!r}')
        self.tau = float(tau)
        self.symmetric = bool(symmetric)
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """Key of this loss in the loss dict."""
        return self._loss_name

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """InfoNCE of (B, C) query against (B, C) key image embeddings."""
        logits = q @ k.t() / self.tau
        target = torch.arange(q.shape[0], device=q.device)
        loss = F.cross_entropy(logits, target)
        if self.symmetric:
            loss = 0.5 * (loss + F.cross_entropy(logits.t(), target))
        return self.loss_weight * loss
