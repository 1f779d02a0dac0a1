"""``TwoViewDataPreprocessor``: the batch of view pairs of stage 1."""
from __future__ import annotations

import torch
from mmengine.model import BaseDataPreprocessor
from mmseg.registry import MODELS

from ideal_mm.errors import ConfigError


@MODELS.register_module()
class TwoViewDataPreprocessor(BaseDataPreprocessor):
    """Stack view pairs into a batch, move them to the device, normalise.

    mmseg's SegDataPreProcessor expects (C, H, W) images with segmentation
    samples and pads them; here every sample is a fixed-size view pair
    (2*C, h, w) from :class:`PackTwoViewInputs`, so stacking suffices.

    Output: ``inputs`` (B, 2*C, h, w) float32 = (x - mean) / std, and the
    data samples (with their correspondence tensors) on the same device.

    Args:
        mean: subtracted from every pixel (default 0).
        std: divides every pixel (default 1).
        non_blocking: passed to ``Tensor.to``.
    """

    def __init__(self,
                 mean: float = 0.0,
                 std: float = 1.0,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if std <= 0:
            raise ConfigError(f'data_preprocessor.std must be > 0, got {std}')
        self.mean = float(mean)
        self.std = float(std)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Return ``dict(inputs=(B, 2*C, h, w) tensor, data_samples=list)``."""
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        inputs = inputs.float()
        if inputs.dim() == 3:  # a single (2, h, w) sample
            inputs = inputs.unsqueeze(0)
        inputs = (inputs - self.mean) / self.std
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
