"""BCP's region-weighted mixed loss and its largest-component pseudo-labels.

Bidirectional Copy-Paste (Bai et al., CVPR 2023; DeepMed-Lab-ECNU/BCP,
code/ACDC_BCP_train.py) trains on images made of two slices: the region inside
one box comes from one slice, the rest from the other. ``mix_loss`` there
scores each region on its own (Dice over the region's pixels, cross-entropy
averaged over the region's pixels) and weights the region whose label is a
pseudo-label by ``u_weight`` = 0.5. The per-region terms are mmseg's
cross-entropy (``avg_non_ignore``) and this project's ``ClassDiceLoss``, with
the other region set to the ignore label; only the region bookkeeping and
weights are new, hence this module.

``largest_component_per_class`` is BCP's pseudo-label filter
(``get_ACDC_2DLargestCC``): per slice and foreground class, only the largest
8-connected component keeps the class, other pixels of it become background.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import torch
import torch.nn as nn
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS
from scipy import ndimage

from ideal_mm.errors import ConfigError
from .class_dice_loss import ClassDiceLoss


def largest_component_per_class(labels: torch.Tensor,
                                num_classes: int,
                                connectivity: int = 2) -> torch.Tensor:
    """Keep each foreground class's largest component per slice.

    For slice ``n`` and class ``c`` in ``1 .. num_classes - 1``, the pixels of
    class ``c`` are split into connected components (``connectivity=2``:
    8-neighbourhood, the default of ``skimage.measure.label`` that BCP uses;
    1: 4-neighbourhood); pixels outside the largest component (ties: the one
    met first in raster order) are set to 0. A class absent from a slice stays
    absent. No gradient flows (labels are integers).

    Args:
        labels: (N, H, W) integer labels in ``[0, num_classes)``.
        num_classes: number of classes, background (0) included.
        connectivity: 1 (4-neighbourhood) or 2 (8-neighbourhood).

    Returns:
        (N, H, W) long tensor on ``labels``' device.
    """
    if labels.dim() != 3:
        raise ValueError(
            'largest_component_per_class: labels must be (N, H, W), got '
            f'shape {tuple(labels.shape)}')
    if labels.is_floating_point():
        raise ValueError('largest_component_per_class: labels must be an '
                         f'integer tensor, got {labels.dtype}')
    if connectivity not in (1, 2):
        raise ConfigError(
            f'largest_component_per_class: connectivity={connectivity!r} '
            'must be 1 (4-neighbourhood) or 2 (8-neighbourhood)')
    arr = labels.detach().cpu().numpy()
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError('largest_component_per_class: labels must lie in '
                         f'[0, {num_classes}), got [{arr.min()}, {arr.max()}]')
    structure = ndimage.generate_binary_structure(2, connectivity)
    out = np.zeros_like(arr, dtype=np.int64)
    for n in range(arr.shape[0]):
        for cls in range(1, num_classes):
            comp, count = ndimage.label(arr[n] == cls, structure=structure)
            if count == 0:
                continue
            sizes = np.bincount(comp.ravel())[1:]
            keep = comp == (int(np.argmax(sizes)) + 1)
            out[n][keep] = cls
    return torch.from_numpy(out).to(labels.device)


@MODELS.register_module()
class BCPMixedLoss(nn.Module):
    """BCP's mixed loss for one copy-pasted batch (``mix_loss``).

    With ``B`` the box (True inside), ``O`` its complement, ``y`` the mixed
    label (labels of the slice each pixel came from) and ``p = softmax``::

        Dice_R = 1 - mean_c (2 sum_R p_c g_c + e) / (sum_R p_c^2
                 + sum_R g_c^2 + e)          (sums over the batch, c incl. 0)
        CE_R   = sum_R CE(pred, y) / |R|
        loss   = loss_weight * (w_B (Dice_B + CE_B)
                 + w_O (Dice_O + CE_O)) / 2

    If ``pseudo_in_box`` the box holds the pseudo-labelled (unlabelled) slice:
    ``w_B = u_weight``, ``w_O = l_weight``; otherwise the reverse. BCP's
    self-training step sums this over its two mixed batches (unlabelled
    outside / labelled inside, and labelled outside / unlabelled inside):
    ``(Dice_unl + Dice_l + CE_unl + CE_l) / 2``; its labelled copy-paste
    phase uses ``u_weight = 1``. ``e = 1e-10`` as BCP's ``DiceLoss``.
    It needs the box, so it is called by the segmentor, not listed in a
    decode head's ``loss_decode``.

    Args:
        l_weight: weight of the labelled region (BCP: 1.0).
        u_weight: weight of the pseudo-labelled region (BCP: 0.5).
        eps: Dice smoothing term (BCP: 1e-10).
        ignore_index: label value excluded from both terms.
        loss_weight: multiplier of the whole loss.
        loss_name: key in the loss dict; must start with ``loss_``.
    """

    def __init__(self,
                 l_weight: float = 1.0,
                 u_weight: float = 0.5,
                 eps: float = 1e-10,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_bcp_mix') -> None:
        super().__init__()
        for key, value in (('l_weight', l_weight), ('u_weight', u_weight),
                           ('loss_weight', loss_weight)):
            if not float(value) >= 0:
                raise ConfigError(f'BCPMixedLoss.{key}={value!r} must be '
                                  '>= 0')
        if not loss_name.startswith('loss_'):
            raise ConfigError(f'BCPMixedLoss.loss_name={loss_name!r} must '
                              "start with 'loss_' (mmseg convention)")
        self.l_weight = float(l_weight)
        self.u_weight = float(u_weight)
        self.ignore_index = int(ignore_index)
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name
        self.dice = ClassDiceLoss(eps=eps, ignore_index=ignore_index)
        self.ce = CrossEntropyLoss(avg_non_ignore=True, loss_name='loss_ce')

    def region_terms(
            self, pred: torch.Tensor, target: torch.Tensor,
            region: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(Dice, CE) of ``pred`` against ``target`` over ``region`` only."""
        masked = torch.where(region, target,
                             torch.full_like(target, self.ignore_index))
        dice = self.dice(pred, masked)
        ce = self.ce(pred, masked, ignore_index=self.ignore_index)
        return dice, ce

    def components(self, pred: torch.Tensor, target: torch.Tensor,
                   box: torch.Tensor,
                   pseudo_in_box: bool) -> Tuple[torch.Tensor, torch.Tensor]:
        """Weighted (Dice, CE) as BCP's ``mix_loss`` returns them."""
        if pred.dim() != 4 or target.shape != (pred.shape[0],) + \
                pred.shape[2:]:
            raise ValueError(
                'BCPMixedLoss: pred must be (N, C, H, W) and target (N, H, W)'
                f'; got {tuple(pred.shape)} and {tuple(target.shape)}')
        box = box.to(device=target.device, dtype=torch.bool)
        if box.shape not in (target.shape, target.shape[1:]):
            raise ValueError(
                f'BCPMixedLoss: box of shape {tuple(box.shape)} matches '
                f'neither (H, W) nor the target {tuple(target.shape)}')
        box = box.expand_as(target)
        w_in, w_out = ((self.u_weight, self.l_weight) if pseudo_in_box else
                       (self.l_weight, self.u_weight))
        target = target.long()
        dice_in, ce_in = self.region_terms(pred, target, box)
        dice_out, ce_out = self.region_terms(pred, target, ~box)
        return (w_out * dice_out + w_in * dice_in,
                w_out * ce_out + w_in * ce_in)

    def forward(self,
                pred: torch.Tensor,
                target: torch.Tensor,
                box: torch.Tensor,
                pseudo_in_box: bool = False,
                **kwargs) -> torch.Tensor:
        """pred (N, C, H, W) logits; target (N, H, W); box (H, W) or (N, H, W)
        bool, True inside the pasted box."""
        dice, ce = self.components(pred, target, box, pseudo_in_box)
        return self.loss_weight * (dice + ce) / 2

    @property
    def loss_name(self) -> str:
        """Key of this loss in the loss dict (mmseg convention)."""
        return self._loss_name
