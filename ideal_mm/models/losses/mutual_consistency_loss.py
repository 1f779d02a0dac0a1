"""MC-Net's sharpening and mutual consistency loss (Wu et al., MICCAI 2021).

MC-Net (ycwu1997/MC-Net, code/train_mcnet_2d.py) has one encoder and several
decoders that differ in their up-sampling; each decoder's probability map is
pulled towards the *sharpened* probability map of every other decoder. No
mmseg loss sharpens or pairs several predictions, hence this module.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from mmseg.registry import MODELS

from ideal_mm.errors import ConfigError


def sharpen(prob: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """MC-Net's element-wise sharpening ``sharpening`` of probabilities.

    ``s(p) = p^(1/T) / (p^(1/T) + (1 - p)^(1/T))`` for every class
    probability independently (the result is not renormalised over classes,
    as in the official code). ``T`` = 0.1 in MC-Net.
    """
    if not float(temperature) > 0:
        raise ConfigError(f'sharpen: temperature={temperature!r} must be > 0')
    inv = 1.0 / float(temperature)
    num = prob.pow(inv)
    return num / (num + (1 - prob).pow(inv))


@MODELS.register_module()
class MutualConsistencyLoss(nn.Module):
    """MC-Net's mutual consistency over K >= 2 decoders' predictions.

    With ``p_k = softmax(logits_k)`` and ``s`` the sharpening of
    :func:`sharpen`::

        loss = loss_weight * sum_{i != j} mean((p_i - s(p_j))^2)

    the mean running over all N x C x H x W elements (``losses.mse_loss``).
    MC-Net applies it to every slice of the batch (labelled and unlabelled),
    weights it by ``0.1 * sigmoid_rampup(iter // 150, 200)`` and does not
    detach the sharpened target (``detach_target=False``, the official
    behaviour: gradient also reaches ``s(p_j)``).

    Args:
        temperature: sharpening temperature T (MC-Net: 0.1).
        detach_target: stop the gradient through ``s(p_j)``.
        loss_weight: multiplier.
        loss_name: key in the loss dict; must start with ``loss_``.
    """

    def __init__(self,
                 temperature: float = 0.1,
                 detach_target: bool = False,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_mutual_consistency') -> None:
        super().__init__()
        if not float(temperature) > 0:
            raise ConfigError('MutualConsistencyLoss.temperature='
                              f'{temperature!r} must be > 0')
        if not loss_name.startswith('loss_'):
            raise ConfigError(f'MutualConsistencyLoss.loss_name={loss_name!r}'
                              " must start with 'loss_' (mmseg convention)")
        self.temperature = float(temperature)
        self.detach_target = bool(detach_target)
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name

    def forward(self, logits: Sequence[torch.Tensor],
                **kwargs) -> torch.Tensor:
        """logits: K >= 2 tensors (N, C, H, W), one per decoder."""
        logits = list(logits)
        if len(logits) < 2:
            raise ValueError('MutualConsistencyLoss needs the logits of at '
                             f'least 2 decoders, got {len(logits)}')
        shape = logits[0].shape
        if any(x.shape != shape for x in logits) or len(shape) < 2:
            raise ValueError(
                'MutualConsistencyLoss: every decoder must give logits of '
                f'the same shape (N, C, ...); got '
                f'{[tuple(x.shape) for x in logits]}')
        probs = [x.float().softmax(dim=1) for x in logits]
        targets = [sharpen(p, self.temperature) for p in probs]
        if self.detach_target:
            targets = [t.detach() for t in targets]
        loss = probs[0].new_zeros(())
        for i, p_i in enumerate(probs):
            for j, t_j in enumerate(targets):
                if i != j:
                    loss = loss + ((p_i - t_j)**2).mean()
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        """Key of this loss in the loss dict (mmseg convention)."""
        return self._loss_name
