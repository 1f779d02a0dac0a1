"""MC-Net (Wu et al., MICCAI 2021) on the semi-supervised base.

One encoder, several decoders that differ only in their up-sampling, and
mutual consistency between each decoder's probabilities and the *sharpened*
probabilities of the others (ycwu1997/MC-Net, ``code/train_mcnet_2d.py``).
mmseg has no multi-decoder segmentor; the base
(:class:`SemiSupervisedSegmentor`) owns the student, the batch split and the
ramp, and the loss is :class:`MutualConsistencyLoss`, so this module only
adds the extra decoders and the unlabelled term.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmseg.registry import MODELS

from ...errors import ConfigError
from ..losses.mutual_consistency_loss import MutualConsistencyLoss
from .semi_base import SemiBatch, SemiSupervisedSegmentor


@MODELS.register_module()
class MCNetSemiSupModel(SemiSupervisedSegmentor):
    """MC-Net: decoder 1 = the student's head, ``extra_heads`` = the others.

    ``z_k = D_k(E(x))`` for the student's decode head (k = 1, bilinear in
    MC-Net) and each head of ``extra_heads`` (MC-Net v1: one transposed-
    convolution decoder; v2 adds a nearest-neighbour one), one encoder
    forward for the whole batch. Losses (``L`` labelled, ``U`` =
    ``semi_train_cfg.unsup_on``'s samples, every slice by default)::

        sup.s{k}.*  = head_k.loss_by_feat(z_k[L], gt[L])
        unsup.loss_mutual_consistency = w(t) * sum_{i != j}
                      mean((softmax(z_i[U]) - s(softmax(z_j[U])))^2)
        s(p)        = p^(1/T) / (p^(1/T) + (1 - p)^(1/T))   (T = 0.1)
        w(t)        = lambda * exp(-5 (1 - min(t, T_r)/T_r)^2)

    As the official script, the heads' ``loss_decode`` should be the Dice
    only (``configs/_base_/models/mcnet_unet.py``): ``train_mcnet_2d.py``
    computes a CE per decoder but its total is ``lamda * loss_seg_dice +
    w * loss_consist``. The sharpened target is *not* detached by default
    (``detach_target=False``): the official buffers keep the graph, so the
    consistency term also moves the decoder that produced the target.
    ``detach_target=True`` makes it a stop-gradient pseudo-label (not the
    published method). The official weight steps every 150 iterations
    (``0.1 * sigmoid_rampup(iter // 150, 200)``); the base's ramp is the
    same curve without the steps (``rampup_iters=30000``).

    Prediction: the student (decoder 1), as MC-Net's ``test_2d.py``.

    Args:
        segmentor: the student, an mmseg segmentor config (encoder +
            decoder 1).
        extra_heads: decode-head configs of decoders 2..K (at least one),
            trained on the student's encoder features.
        semi_train_cfg: ``temperature`` (T, 0.1), ``detach_target``
            (False), ``rampup_iters`` (30000), ``max_consistency_weight``
            (0.1), ``unsup_on`` ('all', MC-Net's consistency on every slice).
        semi_test_cfg: ``predict_on`` ('student').
        data_preprocessor: e.g. ``SegDataPreProcessor``.
        init_cfg: mmengine init config.
    """

    DEFAULT_SEMI_TRAIN_CFG = dict(
        unsup_on='all',
        temperature=0.1,
        detach_target=False,
        rampup_iters=30000,
        max_consistency_weight=0.1)

    def __init__(self,
                 segmentor: dict,
                 extra_heads: List[dict],
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(segmentor, semi_train_cfg, semi_test_cfg,
                         data_preprocessor, init_cfg)
        if isinstance(extra_heads, dict) or not extra_heads:
            raise ConfigError(
                'model.extra_heads must be a non-empty list of decode-head '
                "configs (MC-Net v1: [dict(type='UNetDecoderHead', "
                "upsample_mode='deconv', ...)])")
        self.extra_heads = nn.ModuleList(MODELS.build(h) for h in extra_heads)
        for k, head in enumerate(self.extra_heads):
            if head.out_channels != self.out_channels:
                raise ConfigError(
                    f'model.extra_heads[{k}] predicts {head.out_channels} '
                    f'channels, the student {self.out_channels}: every '
                    'decoder must predict the same classes')
        cfg = self.semi_train_cfg
        self.loss_consistency = MutualConsistencyLoss(
            temperature=cfg.temperature, detach_target=cfg.detach_target)

    def check_semi_train_cfg(self, cfg: dict) -> None:
        """Check ``temperature`` and ``detach_target``."""
        if not float(cfg['temperature']) > 0:
            raise ConfigError('model.semi_train_cfg.temperature must be > 0'
                              f', got {cfg["temperature"]!r}')
        if not isinstance(cfg['detach_target'], bool):
            raise ConfigError('model.semi_train_cfg.detach_target must be '
                              f'True or False, got {cfg["detach_target"]!r}')

    def stream_heads(self) -> Tuple[nn.Module, ...]:
        """Decoder 1 (the student's head), then ``extra_heads``."""
        return (self.student.decode_head, *self.extra_heads)

    def loss_by_pseudo(self, batch: SemiBatch,
                       pseudo: Any) -> Dict[str, torch.Tensor]:
        """``unsup.loss_mutual_consistency`` over ``batch.unsup``."""
        u = batch.unsup
        loss = self.loss_consistency([z[u] for z in batch.logits])
        return {'unsup.loss_mutual_consistency': batch.weight * loss}
