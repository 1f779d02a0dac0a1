"""Mean-teacher baseline (Tarvainen & Valpola 2017, as in SSL4MIS)."""
from __future__ import annotations

from typing import Dict, List, Optional, Union

import torch
from mmengine.config import ConfigDict
from mmengine.model import ExponentialMovingAverage
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import add_prefix

from ...errors import ConfigError
from .ramps import current_train_iter
from .semi_base import SemiSupervisedSegmentor

PREDICT_WITH = ('student', 'teacher')
DEFAULT_SEMI_TRAIN_CFG = dict(
    rampup_iters=0,
    max_consistency_weight=0.1,
    ema_momentum=0.01,
    noise_std=0.1,
    noise_clip=0.2,
    unsup_on='unlabelled',
)


@MODELS.register_module()
class MeanTeacherSemiSupModel(SemiSupervisedSegmentor):
    """Student ``EncoderDecoder`` + EMA teacher with a softmax-MSE consistency.

    ``student`` is an mmseg ``EncoderDecoder`` built from ``backbone`` /
    ``decode_head``; ``teacher`` is mmengine's ``ExponentialMovingAverage`` of
    it (parameters and buffers, ``requires_grad=False``)::

        teacher <- (1 - m) * teacher + m * student     after every step

    The update is done by ``MeanTeacherHook`` (ideal_mm.engine.hooks) after
    each training iteration; ``loss()`` raises if the teacher is never
    updated. Losses (``L`` labelled, ``U`` unlabelled indices)::

        sup.*            = decode_head.loss_by_feat(z_s[L], gt[L])
        unsup.loss_mse   = w(t) * mean_{n in U, c, h, w}
                           (softmax(z_s)[n] - softmax(z_t(x_n + eps))[n])^2
        eps              = clip(N(0, noise_std^2), -noise_clip, noise_clip)
        w(t)             = lambda * exp(-5 (1 - min(t, T)/T)^2)

    As in SSL4MIS, the student sees the clean batch and the teacher a noisy
    copy of the pseudo-supervised samples, without gradient; the consistency
    term uses the unlabelled samples (``unsup_on='all'`` uses all).

    Args:
        backbone, decode_head, neck, auxiliary_head, train_cfg, test_cfg,
            pretrained: as mmseg's ``EncoderDecoder`` (the student).
        semi_train_cfg: ``rampup_iters`` (T), ``max_consistency_weight``
            (lambda, SSL4MIS 0.1), ``ema_momentum`` (m; 0.01 = decay 0.99
            as SSL4MIS), ``noise_std`` / ``noise_clip`` (teacher input noise),
            ``unsup_on`` ('unlabelled' | 'all').
        semi_test_cfg: ``predict_with``: 'student' (default, what SSL4MIS
            evaluates) or 'teacher'.
        data_preprocessor: e.g. ``SegDataPreProcessor``.
        init_cfg: mmengine init config.
    """

    DEFAULT_SEMI_TRAIN_CFG = DEFAULT_SEMI_TRAIN_CFG

    # mmseg's EncoderDecoder arguments, as every segmentor here takes them
    # (the look-alike signatures of the three methods)
    def __init__(self,
                 backbone: dict,
                 decode_head: dict,
                 neck: Optional[dict] = None,
                 auxiliary_head: Optional[Union[dict, List[dict]]] = None,
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            semi_train_cfg=semi_train_cfg,
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        cfg = self.semi_train_cfg
        test = dict(predict_with='student')
        test.update(semi_test_cfg or {})
        if test['predict_with'] not in PREDICT_WITH:
            raise ConfigError(
                'model.semi_test_cfg.predict_with must be one of '
                f'{PREDICT_WITH}, got {test["predict_with"]!r}')
        self.semi_test_cfg = ConfigDict(test)

        self.build_student(backbone, decode_head, neck, auxiliary_head,
                           train_cfg, test_cfg, pretrained)
        self.teacher = ExponentialMovingAverage(
            self.student,
            momentum=float(cfg['ema_momentum']),
            update_buffers=True)

    def check_semi_train_cfg(self, cfg: dict) -> None:
        """The EMA momentum must be in (0, 1)."""
        if not 0.0 < float(cfg['ema_momentum']) < 1.0:
            raise ConfigError('model.semi_train_cfg.ema_momentum must be in '
                              f'(0, 1), got {cfg["ema_momentum"]!r}')

    @property
    def decode_head(self) -> torch.nn.Module:
        """The student's decode head (read by mmseg code)."""
        return self.student.decode_head

    @property
    def predictor(self) -> BaseSegmentor:
        """The network used by predict(): student or teacher."""
        if self.semi_test_cfg.predict_with == 'teacher':
            return self.teacher.module
        return self.student

    def init_weights(self) -> None:
        """Initialise the student, then make the teacher an exact copy."""
        super().init_weights()
        self.teacher.module.load_state_dict(self.student.state_dict())

    @torch.no_grad()
    def update_teacher(self) -> None:
        """One EMA step ``teacher <- (1 - m) teacher + m student``."""
        self.teacher.update_parameters(self.student)

    def extract_feat(self, inputs: torch.Tensor):
        """The student's multi-level features."""
        return self.student.extract_feat(inputs)

    def encode_decode(self, inputs: torch.Tensor,
                      batch_img_metas: List[dict]) -> torch.Tensor:
        """Logits of the predicting network at the input size."""
        return self.predictor.encode_decode(inputs, batch_img_metas)

    def _forward(self,
                 inputs: torch.Tensor,
                 data_samples: Optional[List[SegDataSample]] = None
                 ) -> torch.Tensor:
        """Raw logits of the predicting network."""
        return self.predictor._forward(inputs, data_samples)

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[SegDataSample]] = None
                ) -> List[SegDataSample]:
        """mmseg predictions of the student or the teacher."""
        return self.predictor.predict(inputs, data_samples)

    def semi_loss(self, inputs: torch.Tensor,
                  data_samples: List[SegDataSample], labelled: List[int],
                  unsup: List[int], weight: float
                  ) -> Dict[str, torch.Tensor]:
        """Supervised student losses plus the weighted softmax-MSE term."""
        cur_iter = current_train_iter()
        if self.training and cur_iter > 0 and int(self.teacher.steps) == 0:
            raise ConfigError(
                'MeanTeacherSemiSupModel: the teacher was never updated; add '
                "custom_hooks=[dict(type='MeanTeacherHook')] to the config")
        lab, idx = labelled, unsup
        student = self.student
        x = student.extract_feat(inputs)
        z_s = student.decode_head.forward(x)
        losses: Dict[str, torch.Tensor] = {}
        if lab:
            lab_samples = [data_samples[i] for i in lab]
            losses.update(
                add_prefix(
                    student.decode_head.loss_by_feat(z_s[lab], lab_samples),
                    'sup'))
            if student.with_auxiliary_head:
                losses.update(
                    add_prefix(
                        student._auxiliary_head_forward_train(
                            [f[lab] for f in x], lab_samples), 'sup'))
        else:
            losses['sup.loss_none'] = self.zero_loss(z_s)
        if not idx:
            return losses
        size = inputs.shape[2:]
        with torch.no_grad():
            noisy = inputs[idx]
            noise = torch.randn_like(noisy) * self.semi_train_cfg.noise_std
            clip = self.semi_train_cfg.noise_clip
            noisy = noisy + noise.clamp(-clip, clip)
            teacher = self.teacher.module
            z_t = teacher.decode_head.forward(teacher.extract_feat(noisy))
            p_t = resize(z_t, size=size, mode='bilinear',
                         align_corners=self.align_corners).softmax(dim=1)
        p_s = resize(z_s[idx], size=size, mode='bilinear',
                     align_corners=self.align_corners).softmax(dim=1)
        losses['unsup.loss_mse'] = weight * ((p_s - p_t)**2).mean()
        return losses
