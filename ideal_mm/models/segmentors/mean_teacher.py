"""Mean-teacher baseline (Tarvainen & Valpola 2017, as in SSL4MIS)."""
from __future__ import annotations

from typing import Dict, Optional

import torch
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from .semi_base import SemiBatch, SemiSupervisedSegmentor


@MODELS.register_module()
class MeanTeacherSemiSupModel(SemiSupervisedSegmentor):
    """Student + EMA teacher with a softmax-MSE consistency.

    The teacher is the base's EMA copy of the student (``ema_momentum``),
    stepped by ``MeanTeacherHook`` after every optimizer step::

        teacher <- (1 - m) * teacher + m * student

    Losses (``L`` labelled, ``U`` unlabelled indices)::

        sup.*            = decode_head.loss_by_feat(z_s[L], gt[L])
        unsup.loss_mse   = w(t) * mean_{n in U, c, h, w}
                           (softmax(z_s)[n] - softmax(z_t(x_n + eps))[n])^2
        eps              = clip(N(0, noise_std^2), -noise_clip, noise_clip)

    As in SSL4MIS, the student sees the clean batch and the teacher a noisy
    copy of the pseudo-supervised samples, without gradient.

    Args:
        segmentor: the student (an mmseg ``EncoderDecoder`` config).
        semi_train_cfg: ``rampup_iters`` (T), ``max_consistency_weight``
            (lambda, SSL4MIS 0.1), ``ema_momentum`` (m; 0.01 = decay 0.99
            as SSL4MIS), ``noise_std`` / ``noise_clip`` (teacher input noise),
            ``unsup_on`` ('unlabelled' | 'all').
        semi_test_cfg: ``predict_on``: 'student' (default, what SSL4MIS
            evaluates) or 'teacher'.
        data_preprocessor, init_cfg: see the base.
    """

    DEFAULT_SEMI_TRAIN_CFG = dict(
        max_consistency_weight=0.1,
        ema_momentum=0.01,
        noise_std=0.1,
        noise_clip=0.2)

    @torch.no_grad()
    def get_pseudo_labels(self, batch: SemiBatch,
                          losses: dict) -> Optional[torch.Tensor]:
        """The teacher's softmax of a noisy copy of the ``unsup`` samples."""
        if not batch.unsup:
            return None
        noisy = batch.weak[batch.unsup]
        cfg = self.semi_train_cfg
        noise = torch.randn_like(noisy) * cfg.noise_std
        noisy = noisy + noise.clamp(-cfg.noise_clip, cfg.noise_clip)
        teacher = self.teacher.module
        z_t = teacher.decode_head.forward(teacher.extract_feat(noisy))
        return resize(
            z_t,
            size=batch.size,
            mode='bilinear',
            align_corners=self.align_corners).softmax(dim=1)

    def loss_by_pseudo(self, batch: SemiBatch,
                       p_t: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``unsup.loss_mse``: the weighted softmax MSE."""
        p_s = resize(
            batch.logits[0][batch.unsup],
            size=batch.size,
            mode='bilinear',
            align_corners=self.align_corners).softmax(dim=1)
        return {'unsup.loss_mse': batch.weight * ((p_s - p_t)**2).mean()}
