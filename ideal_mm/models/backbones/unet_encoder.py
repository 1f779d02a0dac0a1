"""Encoder-only UNet: the encoder half of mmseg's UNet, returning every
level."""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn as nn
from mmseg.models.backbones import UNet
from mmseg.registry import MODELS


@MODELS.register_module()
class UNetEncoder(UNet):
    """The contracting path of :class:`mmseg.models.backbones.UNet`.

    mmseg's UNet backbone returns the *decoder's* feature maps, so the encoder
    and decoder cannot be shared or swapped separately. IDEAL needs exactly
    that: one shared encoder feeding two different decoders (and a dense
    projection head during pre-training). This class builds mmseg's UNet with
    the same arguments, drops the decoder and returns the output of every
    encoder stage, shallowest first: level ``i`` has ``base_channels * 2**i``
    channels at ``1 / prod(stride/downsample up to i)`` of the input size.
    Parameter names equal those of mmseg's UNet encoder (``encoder.{i}...``),
    so mmseg UNet checkpoints load into it.

    Args:
        **kwargs: the arguments of :class:`mmseg.models.backbones.UNet`
            (``in_channels``, ``base_channels``, ``num_stages``, ``strides``,
            ``enc_num_convs``, ``downsamples``, ``enc_dilations``,
            ``norm_cfg``, ...). Decoder-only arguments are accepted and
            ignored.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # The decoder is built by UNet.__init__; drop it so that it has no
        # parameters here (a decode head supplies the expanding path).
        self.decoder = nn.ModuleList()

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each returned level."""
        return tuple(self.base_channels * 2**i for i in range(self.num_stages))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Return the feature map of every encoder stage, shallowest first."""
        self._check_input_divisible(x)
        outs = []
        for stage in self.encoder:
            x = stage(x)
            outs.append(x)
        return tuple(outs)
