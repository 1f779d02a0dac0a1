"""Single-stream UniMatch-style baseline (Yang et al., CVPR 2023; FixMatch when
the feature branch is off)."""
from __future__ import annotations

from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import add_prefix

from ...errors import ConfigError
from .semi_base import SemiSupervisedSegmentor
from .unlabelled_signal import (SIGNAL_DEFAULTS, UnlabelledSignalMixin,
                                padding_mask)

DEFAULT_SEMI_TRAIN_CFG = dict(
    rampup_iters=0,
    max_consistency_weight=0.5,
    unsup_on='unlabelled',
    **dict(SIGNAL_DEFAULTS, conf_threshold=0.95, strong_views=2,
           cutmix_prob=0.5, feature_dropout=0.5,
           unsup_loss=dict(type='CrossEntropyLoss', use_sigmoid=False,
                           loss_weight=1.0, avg_non_ignore=True,
                           loss_name='loss_st')),
)


@MODELS.register_module()
class UniMatchSemiSupModel(UnlabelledSignalMixin, SemiSupervisedSegmentor):
    """One ``EncoderDecoder`` whose weak-view pseudo-labels supervise itself.

    The single-stream reference for IDEAL's two-stream options: the same
    weak/strong views (``WeakStrongViews``), CutMix, feature dropout,
    distribution alignment and diagnostics, but the pseudo-label of the
    network supervises the network itself, as in UniMatch::

        sup.*          = decode_head.loss_by_feat(z(weak)[L], gt[L])
        y              = argmax softmax(z(weak)[U])   # detached, p >= thr
        unsup.loss_st  = w(t) * L(z([s_1; ...; s_n])[U], [y; ...; y])
                         # the n strong views stacked in one batch, CutMix'd
        unsup.loss_fp  = w(t) * L(z(drop(E(weak)))[U], y)

    With UniMatch's defaults (2 strong views, CutMix p 0.5, Dropout2d 0.5,
    threshold 0.95, w = 0.5) the weights relative to the labelled loss are
    UniMatch's 0.5 for the strong views together (0.25 each) and 0.5 for the
    feature branch. Set
    ``feature_dropout=0`` and ``strong_views=1`` for FixMatch.

    Args:
        backbone, decode_head, neck, auxiliary_head, train_cfg, test_cfg,
            pretrained: as mmseg's ``EncoderDecoder`` (built as ``student``,
            so checkpoints and ``predict`` are mmseg's).
        semi_train_cfg: ``rampup_iters``, ``max_consistency_weight``,
            ``unsup_on`` (see :class:`SemiSupervisedSegmentor`) and the
            shared options ``conf_threshold``, ``unsup_loss``,
            ``strong_views`` (>= 1), ``cutmix_prob``, ``feature_dropout``,
            ``dist_align`` (see :class:`BiConsistencySemiSupModel`).
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
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            semi_train_cfg=semi_train_cfg,
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.build_student(backbone, decode_head, neck, auxiliary_head,
                           train_cfg, test_cfg, pretrained)
        self.ignore_index = self.student.decode_head.ignore_index
        self.build_signal(num_streams=1)

    def check_semi_train_cfg(self, cfg: dict) -> None:
        """The shared option checks; this model needs a strong view."""
        self.check_signal_cfg(cfg)
        if cfg['strong_views'] < 1:
            raise ConfigError(
                'UniMatchSemiSupModel needs model.semi_train_cfg.strong_views'
                f" >= 1 (got {cfg['strong_views']!r}) and WeakStrongViews in "
                'the train pipeline')

    @property
    def decode_head(self) -> nn.Module:
        """The network's decode head (read by mmseg code)."""
        return self.student.decode_head

    def extract_feat(self, inputs: torch.Tensor):
        """Multi-level features of the network."""
        return self.student.extract_feat(inputs)

    def encode_decode(self, inputs: torch.Tensor,
                      batch_img_metas: List[dict]) -> torch.Tensor:
        """Logits at the input size (mmseg's ``EncoderDecoder``)."""
        return self.student.encode_decode(inputs, batch_img_metas)

    def _forward(self, inputs: torch.Tensor,
                 data_samples: Optional[List[SegDataSample]] = None
                 ) -> torch.Tensor:
        """Raw logits."""
        return self.student._forward(inputs, data_samples)

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[SegDataSample]] = None
                ) -> List[SegDataSample]:
        """mmseg predictions of the network."""
        return self.student.predict(inputs, data_samples)

    def _logits(self, feats, size) -> torch.Tensor:
        head = self.student.decode_head
        return resize(head.forward(feats), size=size, mode='bilinear',
                      align_corners=head.align_corners)

    def semi_loss(self, inputs: torch.Tensor,
                  data_samples: List[SegDataSample], labelled: List[int],
                  unsup: List[int], weight: float
                  ) -> Dict[str, torch.Tensor]:
        """Supervised loss on weak views plus the self-training terms."""
        cfg = self.semi_train_cfg
        student = self.student
        views = self.split_views(inputs)
        weak = views[0]
        size = weak.shape[2:]
        x = student.extract_feat(weak)
        z = student.decode_head.forward(x)
        losses: Dict[str, torch.Tensor] = {}
        self.labelled_statistics(losses, data_samples, labelled,
                                 inputs.device)
        if labelled:
            lab_samples = [data_samples[i] for i in labelled]
            losses.update(add_prefix(
                student.decode_head.loss_by_feat(z[labelled], lab_samples),
                'sup'))
            if student.with_auxiliary_head:
                losses.update(add_prefix(
                    student._auxiliary_head_forward_train(
                        [f[labelled] for f in x], lab_samples), 'sup'))
        else:
            losses['sup.loss_none'] = self.zero_loss(z)
        if not unsup:
            if self.dist_align is not None:  # collective: every rank updates
                self.stream_pseudo_labels(
                    [z[:0]], torch.zeros((0, ) + tuple(z.shape[2:]),
                                         dtype=torch.bool, device=z.device))
            return losses

        z_weak = resize(z[unsup], size=size, mode='bilinear',
                        align_corners=student.decode_head.align_corners)
        valid = padding_mask(data_samples, unsup, size, inputs.device)
        (y, kept), = self.stream_pseudo_labels([z_weak], valid)
        losses['unsup.kept'], losses['unsup.fg'] = self.pseudo_label_shares(
            y, kept, valid)
        self.oracle_figures(losses, data_samples, unsup,
                            [z_weak.detach().argmax(dim=1)], [y], [kept],
                            [''])
        n_strong = len(views) - 1
        strong = torch.cat([v[unsup] for v in views[1:]])
        (target, ) = [y.repeat(n_strong, 1, 1)]
        if cfg.cutmix_prob > 0:
            strong, (target, ) = self._cutmix(strong, [target], len(unsup))
        z_strong = self._logits(student.extract_feat(strong), size)
        losses['unsup.loss_st'] = weight * self.unsup_loss(z_strong, target)
        if cfg.feature_dropout > 0:
            x_fp = [self.feature_dropout(f[unsup]) for f in x]
            losses['unsup.loss_fp'] = weight * self.unsup_loss(
                self._logits(x_fp, size), y)
        return losses
