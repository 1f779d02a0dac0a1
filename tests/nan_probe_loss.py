"""Test-only loss that turns NaN from a given call on (tests/ on PYTHONPATH,
``custom_imports = dict(imports=['ideal_mm', 'nan_probe_loss'])``)."""
from __future__ import annotations

import torch
from mmseg.registry import MODELS
from torch import nn


@MODELS.register_module(force=True)
class NaNFromCallLoss(nn.Module):
    """0 * mean(logits) for the first ``nan_from - 1`` calls, then NaN.

    One call per training iteration (mmseg heads compute losses only in
    training), so ``nan_from=k`` makes iteration k's loss term NaN.
    """

    def __init__(self,
                 nan_from: int = 3,
                 loss_name: str = 'loss_nanprobe') -> None:
        super().__init__()
        self.nan_from = nan_from
        self._loss_name = loss_name
        self.calls = 0

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, *args,
                **kwargs) -> torch.Tensor:
        """The probe value (keeps the graph, so NaN reaches the gradients)."""
        self.calls += 1
        value = cls_score.mean() * 0.0
        if self.calls >= self.nan_from:
            value = value + float('nan')
        return value

    @property
    def loss_name(self) -> str:
        """Key of this term in the log vars (``decode.<loss_name>``)."""
        return self._loss_name
