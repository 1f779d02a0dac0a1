"""Distribution alignment of pixel pseudo-labels (a collapse guard).

When few labelled slices give a weak model, the confident pixels of an
unlabelled slice are almost all background, and pseudo-labels thresholded at
0.95 teach the other stream "background" ever more surely: measured on the
high-variability phantom with 1 labelled patient, UniMatch-style pseudo-labels
fell from a foreground Dice of 0.25 to 0.00 within 400 iterations
(docs/paper_to_code.md). ReMixMatch's distribution alignment (Berthelot et
al., ICLR 2020) counters exactly this drift without any hidden label::

    prior_c   = EMA over labelled batches of the share of pixels of class c
    marg_k,c  = EMA over unlabelled batches of mean_x softmax(z_k(x))_c
    p~_k(x)   = normalise_c( softmax(z_k(x))_c * prior_c / marg_k,c )

and pseudo-labels (and their confidence) are taken from ``p~``. If stream k
predicts less myocardium on unlabelled slices than the labelled slices
contain, its myocardium probabilities are raised until the marginals match.
This assumes labelled and unlabelled slices come from one population (true for
a random patient split of a cine MRI cohort; not for a labelled set chosen by
pathology). mmseg and mmengine have no such component (mmpretrain/mmdet have
none for dense labels either), so it is written here.

Both statistics are averaged over ranks in distributed training, so every
rank aligns with the same buffers.
"""
from __future__ import annotations

from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmseg.registry import MODELS

from ...errors import ConfigError
from .pseudo_label_filters import PseudoLabelFilter


@MODELS.register_module()
class DistributionAlignment(PseudoLabelFilter):
    """Running class priors and marginals, and the aligned probabilities.

    A pseudo-label filter (``model.pseudo_label_filters``): every stream's
    weak-view probabilities are aligned before argmax and threshold.

    Buffers (saved in checkpoints, so a resumed run keeps them): ``prior``
    (C,) and ``marginal`` (num_streams, C), both starting uniform (the first
    alignments are then the identity up to the labelled prior's first
    update).

    Args:
        num_classes: C.
        num_streams: number of predictors with their own marginal.
        momentum: EMA momentum m, ``s <- m * s + (1 - m) * batch_stat``.
        eps: floor of the marginal in the division.
    """

    def __init__(self,
                 num_classes: int,
                 num_streams: int = 2,
                 momentum: float = 0.99,
                 eps: float = 1e-6) -> None:
        super().__init__(num_classes, num_streams)
        if not 0.0 <= float(momentum) < 1.0:
            raise ConfigError('model.pseudo_label_filters: '
                              'DistributionAlignment.momentum must be in '
                              f'[0, 1), got {momentum!r}')
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.register_buffer('prior',
                             torch.full((num_classes, ), 1.0 / num_classes))
        self.register_buffer(
            'marginal',
            torch.full((num_streams, num_classes), 1.0 / num_classes))

    def _ema(self, buf: torch.Tensor, total: torch.Tensor,
             count: torch.Tensor) -> None:
        """EMA step with ``total / count`` summed over ranks; skipped where no
        rank saw a pixel. Every rank calls this in every step (collective)."""
        stat = torch.cat([
            total.detach().float().flatten(),
            count.detach().float().reshape(1)
        ])
        all_reduce(stat, op='sum')
        if stat[-1] > 0:
            buf.mul_(self.momentum).add_(
                (stat[:-1] / stat[-1]).to(buf.dtype), alpha=1 - self.momentum)

    @torch.no_grad()
    def update_prior(self, labels: torch.Tensor, ignore_index: int) -> None:
        """Class shares of labelled pixels (N, H, W), ``ignore_index`` left
        out."""
        c = self.prior.numel()
        valid = (labels != ignore_index) & (labels >= 0) & (labels < c)
        counts = torch.bincount(
            labels[valid].flatten().long(), minlength=c).float()
        self._ema(self.prior, counts, counts.sum())

    @torch.no_grad()
    def update_marginal(self,
                        stream: int,
                        prob: torch.Tensor,
                        valid: Optional[torch.Tensor] = None) -> None:
        """Mean class probability of stream ``stream`` over valid pixels of
        ``prob`` (N, C, H, W)."""
        p = prob.detach().float().permute(0, 2, 3, 1)
        p = p[valid] if valid is not None else p.reshape(-1, p.shape[-1])
        self._ema(self.marginal[stream], p.sum(dim=0),
                  torch.tensor(float(p.shape[0]), device=p.device))

    @torch.no_grad()
    def align(self, stream: int, prob: torch.Tensor) -> torch.Tensor:
        """``normalise_c(prob_c * prior_c / marginal_c)`` for (N, C, H, W)."""
        ratio = self.prior / self.marginal[stream].clamp_min(self.eps)
        aligned = prob.float() * ratio.view(1, -1, 1, 1)
        return aligned / aligned.sum(dim=1, keepdim=True).clamp_min(self.eps)

    def transform(self, stream: int, prob: torch.Tensor,
                  valid: torch.Tensor) -> torch.Tensor:
        """Update stream ``stream``'s marginal with ``prob`` (valid pixels;
        collective, so called also with an empty batch), then align."""
        self.update_marginal(stream, prob, valid)
        return self.align(stream, prob)
