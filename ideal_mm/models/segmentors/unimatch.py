"""Single-stream UniMatch-style baseline (Yang et al., CVPR 2023; FixMatch when
the feature branch is off)."""
from __future__ import annotations

from typing import Dict, Optional

import torch
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ...errors import ConfigError
from .semi_base import SemiBatch, SemiSupervisedSegmentor
from .unlabelled_signal import (SIGNAL_DEFAULTS, PseudoLabels,
                                UnlabelledSignalMixin)


@MODELS.register_module()
class UniMatchSemiSupModel(UnlabelledSignalMixin, SemiSupervisedSegmentor):
    """The student's weak-view pseudo-labels supervise the student itself.

    The single-stream reference for IDEAL's two-stream options: the same
    weak/strong views (``WeakStrongViews``), CutMix, feature dropout,
    distribution alignment and diagnostics, as in UniMatch::

        sup.*          = decode_head.loss_by_feat(z(weak)[L], gt[L])
        y              = argmax softmax(z(weak)[U])   # detached, p >= thr
        unsup.loss_st  = w(t) * L(z([s_1; ...; s_n])[U], [y; ...; y])
                         # the n strong views stacked in one batch, CutMix'd
        unsup.loss_fp  = w(t) * L(z(drop(E(weak)))[U], y)

    With UniMatch's defaults (2 strong views, CutMix p 0.5, Dropout2d 0.5,
    threshold 0.95, w = 0.5) the weights relative to the labelled loss are
    UniMatch's 0.5 for the strong views together (0.25 each) and 0.5 for the
    feature branch. Set ``feature_dropout=0`` and ``strong_views=1`` for
    FixMatch.

    Args:
        segmentor: the student (an mmseg ``EncoderDecoder`` config).
        semi_train_cfg: ``rampup_iters``, ``max_consistency_weight``,
            ``unsup_on`` (see :class:`SemiSupervisedSegmentor`) and the
            shared options ``conf_threshold``, ``unsup_loss``,
            ``strong_views`` (>= 1), ``cutmix_prob``, ``feature_dropout``,
            ``dist_align``, ``class_portion`` (see
            :class:`BiConsistencySemiSupModel`).
        semi_test_cfg, data_preprocessor, init_cfg: see the base.
    """

    DEFAULT_SEMI_TRAIN_CFG = dict(
        SIGNAL_DEFAULTS, max_consistency_weight=0.5, conf_threshold=0.95,
        strong_views=2, cutmix_prob=0.5, feature_dropout=0.5,
        unsup_loss=dict(type='CrossEntropyLoss', use_sigmoid=False,
                        loss_weight=1.0, avg_non_ignore=True,
                        loss_name='loss_st'))

    def __init__(self, segmentor: dict,
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(segmentor, semi_train_cfg, semi_test_cfg,
                         data_preprocessor, init_cfg)
        self.build_signal(num_streams=1)

    def check_semi_train_cfg(self, cfg: dict) -> None:
        """The shared option checks; this model needs a strong view."""
        self.check_signal_cfg(cfg)
        if cfg['strong_views'] < 1:
            raise ConfigError(
                'UniMatchSemiSupModel needs model.semi_train_cfg.strong_views'
                f" >= 1 (got {cfg['strong_views']!r}) and WeakStrongViews in "
                'the train pipeline')

    def _logits(self, feats, size) -> torch.Tensor:
        head = self.student.decode_head
        return resize(head.forward(feats), size=size, mode='bilinear',
                      align_corners=head.align_corners)

    def loss_by_pseudo(self, batch: SemiBatch, pseudo: PseudoLabels
                       ) -> Dict[str, torch.Tensor]:
        """Strong-view self-training and the feature-perturbed branch."""
        cfg, unsup, (y, ) = self.semi_train_cfg, batch.unsup, pseudo.labels
        n_strong = len(batch.views) - 1
        strong = torch.cat([v[unsup] for v in batch.views[1:]])
        target = y.repeat(n_strong, 1, 1)
        if cfg.cutmix_prob > 0:
            strong, (target, ) = self._cutmix(strong, [target], len(unsup))
        z_strong = self._logits(self.student.extract_feat(strong), batch.size)
        losses = {'unsup.loss_st': batch.weight *
                  self.unsup_loss(z_strong, target)}
        if cfg.feature_dropout > 0:
            x_fp = [self.feature_dropout(f[unsup]) for f in batch.feats]
            losses['unsup.loss_fp'] = batch.weight * self.unsup_loss(
                self._logits(x_fp, batch.size), y)
        return losses
