"""Chaitanya et al. 2020, stage 2: local contrastive pre-training of the
first decoder blocks on a frozen, pre-trained encoder.

"Contrastive learning of global and local features for medical image
segmentation with limited annotations" (NeurIPS 2020; krishnabits001/
domain_specific_cl, ``models.py`` ``decoder_pretrain_net``,
``train_model/pretr_decoder_local_contrastive_loss.py``). The encoder comes
from the global stage (the existing :class:`DenseContrastivePretrainer`
with a global head) and stays frozen; the first ``num_blocks`` blocks of the
decoder that fine-tuning will use, a small projection g_2 and the local
loss's region layer are trained on two intensity-only views of each slice.
Neither mmseg nor mmpretrain pre-trains a decoder, hence this model; the
decoder is ideal_mm's :class:`UNetDecoderHead`, the loss
:class:`LocalContrastiveLoss`.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from mmseg.registry import MODELS

from ideal_mm.errors import ConfigError


@MODELS.register_module()
class LocalContrastivePretrainer(BaseModel):
    """Frozen encoder E, decoder blocks 1..L, g_2, local contrastive loss.

    The inputs are view pairs (B, 2C, h, w) (``TwoViewDataPreprocessor``)
    of one slice under two intensity transforms and *no* geometric one, so
    position (y, x) of one view's feature map corresponds to (y, x) of the
    other's (checked: data samples whose ``affine_q`` and ``affine_k``
    differ raise ``ValueError``). Both views go through the network as one
    batch of 2B images, as in the official code::

        f     = E(x)                       # frozen: no gradient, BN in eval
        d_0   = f[-1]; d_l = Up_l(d_{l-1}, skip_l)  for l = 1..L
        g     = Conv1x1(no bias)(ReLU(BN(Conv1x1(d_L))))          # g_2
        loss  = LocalContrastiveLoss(g[:B], g[B:])  # T 0.1, 3x3 regions,
                                                     # 128-d region layer

    ``Up_l`` are the first L blocks of ``decode_head`` (a
    :class:`UNetDecoderHead`, deepest first, the same config as the
    fine-tuning model's decoder, so the export loads into it). The blocks
    that are not pre-trained and ``conv_seg`` are removed. With the IDEAL
    encoder (4 down-samplings, 1/16 deepest) block 3 decodes at 1/2; the
    official encoder has one down-sampling more, so its block 3 is at 1/4
    (``num_blocks=2`` gives that resolution here).

    :meth:`export_state_dict` returns ``backbone.*`` and the pre-trained
    ``decode_head.up_blocks.*`` tensors (``ExportPretrainedHook`` writes
    them); a segmentor loads them with ``init_cfg=dict(type='Pretrained',
    checkpoint=...)`` at model level (no prefix).

    Args:
        backbone: mmseg backbone config; load the global stage's encoder
            with its ``init_cfg=dict(type='Pretrained', ...,
            prefix='backbone.')``.
        decode_head: ``UNetDecoderHead`` config (only its structure and its
            first ``num_blocks`` blocks are used).
        num_blocks: L, decoder blocks pre-trained (official: 3).
        proj_channels: g_2's width (default: the L-th block's channels).
        loss: ``LocalContrastiveLoss`` config; ``in_channels`` defaults to
            ``proj_channels``.
        norm_cfg: g_2's norm layer.
        freeze_backbone: keep E fixed (official: True).
        data_preprocessor: default ``TwoViewDataPreprocessor``.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 backbone: dict,
                 decode_head: dict,
                 num_blocks: int = 3,
                 proj_channels: Optional[int] = None,
                 loss: dict = dict(
                     type='LocalContrastiveLoss',
                     temperature=0.1,
                     region_size=3,
                     embed_dim=128),
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 freeze_backbone: bool = True,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='TwoViewDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        head = MODELS.build(decode_head)
        blocks = getattr(head, 'up_blocks', None)
        if not isinstance(blocks, nn.ModuleList):
            raise ConfigError(
                'model.decode_head must be a UNetDecoderHead (a decoder '
                f'with up_blocks), got {type(head).__name__}')
        if not 1 <= int(num_blocks) <= len(blocks):
            raise ConfigError(
                f'model.num_blocks={num_blocks!r} must be in 1..'
                f'{len(blocks)} (the decoder blocks of model.decode_head)')
        self.num_blocks = int(num_blocks)
        # up_blocks[i] decodes level i; decoding starts at the deepest
        self.block_ids = list(
            range(len(blocks) - 1,
                  len(blocks) - 1 - self.num_blocks, -1))
        for i in range(len(blocks)):
            if i not in self.block_ids:
                blocks[i] = nn.Identity()
        head.conv_seg = None
        self.decode_head = head
        channels = int(head.decoder_channels[self.block_ids[-1]])
        proj_channels = int(proj_channels or channels)
        self.proj_head = nn.Sequential(
            ConvModule(
                channels,
                proj_channels,
                1,
                norm_cfg=norm_cfg,
                act_cfg=dict(type='ReLU')),
            nn.Conv2d(proj_channels, proj_channels, 1, bias=False))
        loss = dict(loss)
        loss.setdefault('in_channels', proj_channels)
        self.loss_local = MODELS.build(loss)
        self.freeze_backbone = bool(freeze_backbone)
        if self.freeze_backbone:
            self.backbone.requires_grad_(False)
            self.backbone.eval()

    def train(self, mode: bool = True) -> 'LocalContrastivePretrainer':
        """Train mode for the decoder parts; a frozen encoder stays in eval
        mode (its BN statistics are the global stage's)."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    @staticmethod
    def split_views(inputs: torch.Tensor) -> List[torch.Tensor]:
        """(B, 2*C, h, w) -> the two views (B, C, h, w)."""
        if inputs.dim() != 4 or inputs.shape[1] % 2:
            raise ValueError('inputs must be (B, 2*C, h, w) view pairs, got '
                             f'{tuple(inputs.shape)}')
        return list(inputs.chunk(2, dim=1))

    @staticmethod
    def check_same_geometry(
            data_samples: Optional[Sequence[BaseDataElement]]) -> None:
        """Raise ``ValueError`` when a sample's views differ geometrically
        (the local loss compares the same positions of both views)."""
        for i, s in enumerate(data_samples or []):
            a, b = s.get('affine_q'), s.get('affine_k')
            if a is not None and b is not None and not torch.allclose(
                    torch.as_tensor(a, dtype=torch.float64),
                    torch.as_tensor(b, dtype=torch.float64)):
                raise ValueError(
                    f'sample {i}: the two views have different geometry; '
                    'local contrastive pre-training needs intensity-only '
                    'views (DenseContrastiveTwoView with flip_prob=0, '
                    'rotate_prob=0, scale_range=None, translate=0)')

    def decoder_features(self, inputs: torch.Tensor) -> torch.Tensor:
        """g_2 of the L-th decoder block's output for images (N, C, h, w).
        """
        if self.freeze_backbone:
            with torch.no_grad():
                feats = self.backbone(inputs)
        else:
            feats = self.backbone(inputs)
        feats = self.decode_head._transform_inputs(feats)
        x = feats[-1]
        for i in self.block_ids:
            x = self.decode_head.up_blocks[i](x, feats[i])
        return self.proj_head(x)

    def loss(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[Sequence[BaseDataElement]] = None
    ) -> Dict[str, torch.Tensor]:
        """``{loss_local.loss_name: L}`` of a batch of view pairs."""
        self.check_same_geometry(data_samples)
        a, b = self.split_views(inputs)
        g = self.decoder_features(torch.cat([a, b], dim=0))
        g_a, g_b = g.chunk(2, dim=0)
        return {self.loss_local.loss_name: self.loss_local(g_a, g_b)}

    def export_state_dict(self) -> Dict[str, torch.Tensor]:
        """``backbone.*`` and the pre-trained ``decode_head.up_blocks.{i}.*``
        tensors, keyed as in a segmentor with that backbone and head."""
        state = {
            f'backbone.{k}': v
            for k, v in self.backbone.state_dict().items()
        }
        prefixes = tuple(f'up_blocks.{i}.' for i in self.block_ids)
        state.update({
            f'decode_head.{k}': v
            for k, v in self.decode_head.state_dict().items()
            if k.startswith(prefixes)
        })
        return state

    def forward(
            self,
            inputs: torch.Tensor,
            data_samples: Optional[Sequence[BaseDataElement]] = None,
            mode: str = 'tensor'
    ) -> Union[Dict[str, torch.Tensor], torch.Tensor]:
        """``mode='loss'``: the loss dict; ``'tensor'``: g_2 features of
        both views, (B, 2, C, h', w')."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            a, b = self.split_views(inputs)
            g = self.decoder_features(torch.cat([a, b], dim=0))
            return torch.stack(g.chunk(2, dim=0), dim=1)
        raise ValueError(
            "LocalContrastivePretrainer supports mode='loss' and "
            f"mode='tensor', got mode={mode!r}; it makes no predictions, "
            'so its configs have no val/test loop')
