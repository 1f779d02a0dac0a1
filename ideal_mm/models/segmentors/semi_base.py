"""``SemiSupervisedSegmentor``: the networks and the loop every semi-supervised
segmentor shares.

The shape of mmdet's ``SemiBaseDetector``, for mmseg segmentors (mmseg has
no semi-supervised segmentor and mmdet, whose base is for detectors, is not a
dependency). The base builds the student from any mmseg segmentor config
(``segmentor=dict(type='EncoderDecoder', ...)``) and, when the method's
``semi_train_cfg`` has ``ema_momentum``, an EMA teacher of it (mmengine's
``ExponentialMovingAverage``, stepped by ``MeanTeacherHook`` after every
optimizer step, as mmdet's ``MeanTeacherHook``). It owns ``semi_train_cfg``
(defaults, unknown keys, common checks), the split of a batch, the ramped
weight, the supervised loss, the DDP guard, the ``unsup.weight`` log key,
and test-time routing by ``semi_test_cfg.predict_on``. A method writes
:meth:`get_pseudo_labels` and :meth:`loss_by_pseudo`.
"""
from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.model import ExponentialMovingAverage
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import add_prefix

from ...errors import ConfigError
from .ramps import consistency_weight, current_train_iter

UNSUP_ON = ('unlabelled', 'all')


def split_labelled(
        data_samples: Sequence[SegDataSample]) -> Tuple[List[int], List[int]]:
    """Indices of samples with ``gt_sem_seg`` (labelled) and without."""
    labelled, unlabelled = [], []
    for i, sample in enumerate(data_samples):
        (labelled if 'gt_sem_seg' in sample else unlabelled).append(i)
    return labelled, unlabelled


def check_ema_updated(ema: Optional[ExponentialMovingAverage], baseline: int,
                      owner: str) -> None:
    """Raise ``ConfigError`` when training has started (runner iteration >
    0) but ``ema`` has had no step beyond the ``baseline`` ones made at
    initialisation: ``MeanTeacherHook`` is missing from ``custom_hooks``."""
    if ema is not None and current_train_iter() > 0 and \
            int(ema.steps) <= baseline:
        raise ConfigError(
            f'{owner}: the EMA teacher was never updated; add '
            "custom_hooks=[dict(type='MeanTeacherHook')] to the config")


class SemiBatch(NamedTuple):
    """One training batch as the template methods see it.

    ``views``: [weak, strong_1, ...] (channel groups of the inputs);
    ``feats``: the student encoder's features of the weak view;
    ``logits``: each stream's raw logits of the weak view;
    ``labelled`` / ``unsup``: indices with ground truth / that get the
    consistency loss; ``weight``: w(t).
    """
    views: List[torch.Tensor]
    data_samples: List[SegDataSample]
    labelled: List[int]
    unsup: List[int]
    weight: float
    feats: Sequence[torch.Tensor]
    logits: Tuple[torch.Tensor, ...]

    @property
    def weak(self) -> torch.Tensor:
        """The weak (or only) view."""
        return self.views[0]

    @property
    def size(self) -> Tuple[int, int]:
        """Spatial size of the inputs."""
        return tuple(self.views[0].shape[2:])


class SemiSupervisedSegmentor(BaseSegmentor):
    """Student (+ optional EMA teacher), ``semi_train_cfg``, the loss loop.

    ``semi_train_cfg`` always has ``rampup_iters`` (T), ``max_consistency_
    weight`` (lambda) and ``unsup_on`` ('unlabelled': the consistency loss
    uses the samples without labels; 'all': every sample); a subclass adds
    its keys and defaults in ``DEFAULT_SEMI_TRAIN_CFG`` (``ema_momentum`` m
    builds the teacher) and checks them in :meth:`check_semi_train_cfg`.
    ``loss()`` does::

        views = split_views(inputs); x, z = forward_train(views[0])
        sup.*   = loss_by_gt(...)        # every stream's decode head + aux
        pseudo  = get_pseudo_labels(...)
        unsup.* = loss_by_pseudo(..., pseudo)   # already times w(t)
        w(t)    = lambda * exp(-5 (1 - min(t, T)/T)^2)

    and logs ``unsup.weight`` (not summed: its key has no 'loss').
    ``semi_test_cfg.predict_on`` routes ``predict`` / ``_forward`` /
    ``encode_decode``: 'student', 'teacher' (mmseg's own methods of that
    network) or a stream the subclass names in ``STREAMS``.

    Args:
        segmentor: the student, any mmseg segmentor config (its ``type``
            defaults to ``'EncoderDecoder'``).
        semi_train_cfg: the method's training options (see subclasses).
        semi_test_cfg: ``predict_on`` (default ``DEFAULT_PREDICT_ON``).
        data_preprocessor: e.g. ``SegDataPreProcessor``.
        init_cfg: mmengine init config.
    """

    DEFAULT_SEMI_TRAIN_CFG: dict = dict(
        rampup_iters=0, max_consistency_weight=1.0, unsup_on='unlabelled')
    #: named prediction streams beyond 'student' / 'teacher'; a name mapped
    #: to 'student' / 'teacher' is an alias, one mapped to None is decoded by
    #: the subclass's :meth:`encode_decode_stream`
    STREAMS: Dict[str, Optional[str]] = {}
    DEFAULT_PREDICT_ON = 'student'

    def __init__(self,
                 segmentor: dict,
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.semi_train_cfg = ConfigDict(self._semi_train_cfg(semi_train_cfg))
        segmentor = dict(segmentor)
        segmentor.setdefault('type', 'EncoderDecoder')
        segmentor['test_cfg'] = ConfigDict(
            segmentor.get('test_cfg') or dict(mode='whole'))
        self.student = MODELS.build(segmentor)
        self.align_corners = self.student.align_corners
        self.num_classes = self.student.num_classes
        self.out_channels = self.student.out_channels
        self.ignore_index = self.student.decode_head.ignore_index
        self.test_cfg = self.student.test_cfg
        self.teacher: Optional[ExponentialMovingAverage] = None
        if self.semi_train_cfg.get('ema_momentum') is not None:
            self.teacher = ExponentialMovingAverage(
                self.student,
                momentum=float(self.semi_train_cfg.ema_momentum),
                update_buffers=True)
        test = dict(predict_on=self.DEFAULT_PREDICT_ON)
        test.update(semi_test_cfg or {})
        valid = ('student', 'teacher') if self.teacher is not None \
            else ('student', )
        valid += tuple(self.STREAMS)
        if test['predict_on'] not in valid:
            raise ConfigError(
                f'model.semi_test_cfg.predict_on must be one of {valid}, got'
                f' {test["predict_on"]!r}')
        self.semi_test_cfg = ConfigDict(test)

    def _semi_train_cfg(self, semi_train_cfg: Optional[dict]) -> dict:
        """Defaults of the base and the class, checked."""
        cfg = dict(SemiSupervisedSegmentor.DEFAULT_SEMI_TRAIN_CFG)
        cfg.update(self.DEFAULT_SEMI_TRAIN_CFG)
        unknown = set(semi_train_cfg or {}) - set(cfg)
        if unknown:
            raise ConfigError(
                f'unknown model.semi_train_cfg keys {sorted(unknown)}; '
                f'valid keys: {sorted(cfg)}')
        cfg.update(semi_train_cfg or {})
        if cfg['unsup_on'] not in UNSUP_ON:
            raise ConfigError(f'model.semi_train_cfg.unsup_on must be one of '
                              f'{UNSUP_ON}, got {cfg["unsup_on"]!r}')
        if float(cfg['rampup_iters']) < 0 or \
                float(cfg['max_consistency_weight']) < 0:
            raise ConfigError(
                'model.semi_train_cfg.rampup_iters and max_consistency_weight'
                ' must be >= 0')
        m = cfg.get('ema_momentum')
        if m is not None and not 0.0 < float(m) < 1.0:
            raise ConfigError('model.semi_train_cfg.ema_momentum must be in '
                              f'(0, 1), got {m!r}')
        self.check_semi_train_cfg(cfg)
        return cfg

    def check_semi_train_cfg(self, cfg: dict) -> None:
        """Raise ``ConfigError`` for a bad value of a subclass's own key."""

    # ---- networks ------------------------------------------------------
    @property
    def backbone(self) -> nn.Module:
        """The student's encoder (read by probes and config tools)."""
        return self.student.backbone

    @property
    def predictor(self) -> Optional[BaseSegmentor]:
        """The network ``predict_on`` names, or None for a stream the
        subclass decodes itself."""
        on = self.STREAMS.get(self.semi_test_cfg.predict_on,
                              self.semi_test_cfg.predict_on)
        if on == 'teacher':
            return self.teacher.module
        return self.student if on == 'student' else None

    @property
    def ema_teacher(self) -> Optional[ExponentialMovingAverage]:
        """The EMA teacher that ``MeanTeacherHook`` steps (or None)."""
        return self.teacher

    @property
    def teacher_module(self) -> Optional[BaseSegmentor]:
        """The teacher network (None without one)."""
        return None if self.teacher is None else self.teacher.module

    @property
    def decode_head(self) -> nn.Module:
        """The predicting network's decode head (read by mmseg code)."""
        return (self.predictor or self.student).decode_head

    def init_weights(self) -> None:
        """Initialise the student, then make the teacher an exact copy (its
        first EMA step copies again, see ``ExponentialMovingAverage``)."""
        super().init_weights()
        if self.teacher is not None:
            self.teacher.module.load_state_dict(self.student.state_dict())

    @torch.no_grad()
    def update_teacher(self) -> None:
        """One EMA step ``teacher <- (1 - m) teacher + m student``
        (called by ``MeanTeacherHook``)."""
        self.teacher.update_parameters(self.student)

    # ---- test time -----------------------------------------------------
    def extract_feat(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """Multi-level features of the predicting network's encoder."""
        return (self.predictor or self.student).extract_feat(inputs)

    def encode_decode(self, inputs: torch.Tensor,
                      batch_img_metas: List[dict]) -> torch.Tensor:
        """Logits (or probabilities of a mean stream) at the input size."""
        net = self.predictor
        if net is not None:
            return net.encode_decode(inputs, batch_img_metas)
        return self.encode_decode_stream(inputs, batch_img_metas)

    def encode_decode_stream(self, inputs: torch.Tensor,
                             batch_img_metas: List[dict]) -> torch.Tensor:
        """``encode_decode`` of a stream in ``STREAMS``; only multi-stream
        subclasses (which declare ``STREAMS``) have named streams."""
        raise ConfigError(
            f'{type(self).__name__} has no named streams: set '
            "model.semi_test_cfg.predict_on to 'student' or 'teacher'")

    def _forward(self,
                 inputs: torch.Tensor,
                 data_samples: Optional[List[SegDataSample]] = None) -> Any:
        """Raw logits of the predicting network; with several streams,
        every stream's (a tuple at the decoders' output size)."""
        heads = self.stream_heads()
        net = self.predictor
        if net is not None and (len(heads) == 1 or net is self.teacher_module):
            return net._forward(inputs, data_samples)
        x = self.student.extract_feat(inputs)
        return tuple(head.forward(x) for head in heads)

    def predict(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[SegDataSample]] = None
    ) -> List[SegDataSample]:
        """mmseg predictions of the predicting network or stream."""
        net = self.predictor
        if net is not None:
            return net.predict(inputs, data_samples)
        return EncoderDecoder.predict(self, inputs, data_samples)

    # mmseg's whole / sliding-window inference, reused for the streams
    inference = EncoderDecoder.inference
    whole_inference = EncoderDecoder.whole_inference
    slide_inference = EncoderDecoder.slide_inference

    # ---- training ------------------------------------------------------
    def consistency_weight(self, cur_iter: Optional[int] = None) -> float:
        """``w(t) = lambda * exp(-5 (1 - min(t, T)/T)^2)`` at iteration t.

        ``cur_iter`` defaults to the runner's iteration from the MessageHub.
        """
        t = current_train_iter() if cur_iter is None else cur_iter
        cfg = self.semi_train_cfg
        return consistency_weight(t, cfg.max_consistency_weight,
                                  self.semi_train_cfg.rampup_iters)

    @staticmethod
    def zero_loss(*tensors: torch.Tensor) -> torch.Tensor:
        """``0 * sum(t.sum())``: keeps modules in the graph (DDP) at no cost.

        Used as ``sup.loss_none`` when a batch has no labelled sample, so
        every head still receives a (zero) gradient.
        """
        return sum(t.sum() for t in tensors) * 0.0

    def stream_heads(self) -> Tuple[nn.Module, ...]:
        """The decode heads trained on the student's features: the
        student's own; a multi-stream subclass adds its heads."""
        return (self.student.decode_head, )

    def split_views(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """The views packed in the inputs (one here)."""
        return [inputs]

    def forward_train(
        self, weak: torch.Tensor
    ) -> Tuple[Sequence[torch.Tensor], Tuple[torch.Tensor, ...]]:
        """Student features and every stream's raw logits of the weak view
        (one encoder forward)."""
        x = self.student.extract_feat(weak)
        return x, tuple(head.forward(x) for head in self.stream_heads())

    def loss(self, inputs: torch.Tensor,
             data_samples: List[SegDataSample]) -> Dict[str, torch.Tensor]:
        """Split, weigh, then the three template methods."""
        if self.training:
            check_ema_updated(self.teacher, 0, type(self).__name__)
        lab, unl = split_labelled(data_samples)
        unsup = unl if self.semi_train_cfg.unsup_on == 'unlabelled' \
            else list(range(len(data_samples)))
        weight = self.consistency_weight()
        views = self.split_views(inputs)
        feats, logits = self.forward_train(views[0])
        batch = SemiBatch(views, data_samples, lab, unsup, weight, feats,
                          logits)
        losses = self.loss_by_gt(batch)
        pseudo = self.get_pseudo_labels(batch, losses)
        if unsup:
            losses.update(self.loss_by_pseudo(batch, pseudo))
        losses['unsup.weight'] = torch.tensor(weight, device=inputs.device)
        return losses

    def loss_by_gt(self, batch: SemiBatch) -> Dict[str, torch.Tensor]:
        """Supervised losses of the labelled samples: each stream head's
        ``loss_by_feat`` (``sup.*``, or ``sup.s{k}.*`` with several
        streams) and the student's auxiliary heads (``sup.aux*``); a zero
        ``sup.loss_none`` when the batch has no labelled sample."""
        lab = batch.labelled
        if not lab:
            return {'sup.loss_none': self.zero_loss(*batch.logits)}
        samples = [batch.data_samples[i] for i in lab]
        heads = self.stream_heads()
        losses: Dict[str, torch.Tensor] = {}
        for k, (head, z) in enumerate(zip(heads, batch.logits), start=1):
            prefix = 'sup' if len(heads) == 1 else f'sup.s{k}'
            losses.update(
                add_prefix(head.loss_by_feat(z[lab], samples), prefix))
        if self.student.with_auxiliary_head:
            losses.update(
                add_prefix(
                    self.student._auxiliary_head_forward_train(
                        [f[lab] for f in batch.feats], samples), 'sup'))
        return losses

    def get_pseudo_labels(self, batch: SemiBatch,
                          losses: Dict[str, torch.Tensor]) -> Any:
        """The targets of ``batch.unsup`` (called also when it is empty, for
        statistics every rank must update); may log diagnostics into
        ``losses``."""
        return None

    def loss_by_pseudo(self, batch: SemiBatch,
                       pseudo: Any) -> Dict[str, torch.Tensor]:
        """The method's ``unsup.*`` losses, already multiplied by
        ``batch.weight`` (called when ``batch.unsup`` is not empty). A
        subclass that keeps the base's ``loss`` must define it: checked when
        the class is defined (:meth:`__init_subclass__`), so this body is
        never reached by a class that passed that check."""
        raise TypeError(f'{type(self).__name__} does not define '
                        'loss_by_pseudo')

    def __init_subclass__(cls, **kwargs) -> None:
        """Refuse, at class definition, a method that runs the base's
        loss loop without its own ``loss_by_pseudo``."""
        super().__init_subclass__(**kwargs)
        base = SemiSupervisedSegmentor
        if cls.loss is base.loss and \
                cls.loss_by_pseudo is base.loss_by_pseudo:
            raise TypeError(
                f'{cls.__name__}: a semi-supervised method on the base\'s '
                'loss loop must define loss_by_pseudo(batch, pseudo) '
                'returning its unsup.* losses (docs/extending.md)')
