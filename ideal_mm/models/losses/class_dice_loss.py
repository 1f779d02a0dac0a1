"""Class-averaged soft Dice loss, as used by ACDC semi-supervised baselines."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


@MODELS.register_module()
class ClassDiceLoss(nn.Module):
    """Soft Dice averaged over classes, with ignored pixels masked out.

    mmseg 1.2's ``DiceLoss`` flattens all classes of a sample into one Dice
    score (so the background dominates small structures such as the RV) and
    its ``ignore_index`` drops a *channel*, not the pixels labelled 255. The
    loss used by SSL4MIS/IDEAL on ACDC is the per-class soft Dice::

        p = softmax(logits),  g = one_hot(target),  m = (target != ignore)
        D_c = (2 * sum(m * p_c * g_c) + eps)
              / (sum(m * p_c^2) + sum(m * g_c^2) + eps)
        loss = loss_weight * (1 - mean_{c in classes} D_c)

    sums run over the batch and all pixels; ``classes`` defaults to every class
    (background included, as SSL4MIS does). With ``present_only=True`` the
    mean runs only over the classes that occur among the target's
    non-ignored pixels. That is the form for thresholded pseudo-labels:
    there a class is often absent only because none of its pixels was
    confident, and the term ``D_c = eps / (sum p_c^2 + eps)`` of an absent
    class would push every kept pixel's probability of that class to zero,
    i.e. towards the classes that are confident already (background).

    Args:
        loss_weight: multiplier. Defaults to 1.0.
        ignore_index: label value excluded from the sums. Defaults to 255.
        eps: smoothing term. Defaults to 1e-5.
        classes: class indices to average over; None means all.
        present_only: average only over those of ``classes`` present in the
            target (non-ignored pixels); a batch with none gives 0.
        loss_name: key in the loss dict; must start with ``loss_``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 ignore_index: int = 255,
                 eps: float = 1e-5,
                 classes: Optional[Sequence[int]] = None,
                 present_only: bool = False,
                 loss_name: str = 'loss_dice') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self.eps = eps
        self.classes = None if classes is None else list(classes)
        self.present_only = bool(present_only)
        self._loss_name = loss_name

    def forward(self,
                pred: torch.Tensor,
                target: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                ignore_index: Optional[int] = None,
                **kwargs) -> torch.Tensor:
        """pred: logits (N, C, H, W); target: labels (N, H, W)."""
        ignore = self.ignore_index if ignore_index is None else ignore_index
        num_classes = pred.shape[1]
        prob = pred.float().softmax(dim=1)
        valid = (target != ignore)
        onehot = F.one_hot(torch.where(valid, target, 0).long(), num_classes)
        onehot = onehot.permute(0, 3, 1, 2).to(prob.dtype)
        mask = valid.unsqueeze(1).to(prob.dtype)
        dims = (0, 2, 3)
        inter = (prob * onehot * mask).sum(dims)
        denom = (prob * prob * mask).sum(dims) + (onehot * mask).sum(dims)
        dice = (2 * inter + self.eps) / (denom + self.eps)
        chosen = torch.ones_like(dice, dtype=torch.bool)
        if self.classes is not None:
            chosen = torch.zeros_like(chosen)
            chosen[self.classes] = True
        if self.present_only:
            chosen &= (onehot * mask).sum(dims) > 0
            if not chosen.any():
                return pred.sum() * 0.0
        return self.loss_weight * (1 - dice[chosen].mean())

    @property
    def loss_name(self) -> str:
        """Key of this loss in the loss dict (mmseg convention)."""
        return self._loss_name
