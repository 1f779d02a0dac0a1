"""``SemiSupervisedSegmentor``: what every semi-supervised segmentor shares.

The shape of mmdet's ``SemiBaseDetector``, for mmseg segmentors: the base owns
``semi_train_cfg`` (defaults, unknown-key and value checks), the split of a
batch into labelled samples and the samples that get a consistency loss, the
ramped consistency weight, the guard that keeps every head in the graph when a
batch has no labelled sample (DDP), the ``unsup.weight`` log key, and test-time
routing (``predict`` -> ``inference`` -> whole or sliding-window
``encode_decode``, as mmseg's ``EncoderDecoder`` does it). A method writes
:meth:`semi_loss`, its losses given that split and weight, and
``encode_decode`` (or delegates ``predict`` to a network it holds).
mmseg has no semi-supervised segmentor to inherit from; mmdet's base is for
detectors (teacher/student dicts, box pseudo-labels) and mmdet is not a
dependency.
"""
from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.logging import print_log
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ...errors import ConfigError
from .ramps import consistency_weight, current_train_iter

UNSUP_ON = ('unlabelled', 'all')


def split_labelled(data_samples: Sequence[SegDataSample]
                   ) -> Tuple[List[int], List[int]]:
    """Indices of samples with ``gt_sem_seg`` (labelled) and without."""
    labelled, unlabelled = [], []
    for i, sample in enumerate(data_samples):
        (labelled if 'gt_sem_seg' in sample else unlabelled).append(i)
    return labelled, unlabelled


class SemiSupervisedSegmentor(BaseSegmentor):
    """Base class: ``semi_train_cfg``, batch split, ramp, DDP guard.

    ``semi_train_cfg`` always has ``rampup_iters`` (T), ``max_consistency_weight``
    (lambda) and ``unsup_on`` ('unlabelled': the consistency loss uses the
    samples without labels; 'all': every sample); a subclass adds its own keys
    and defaults in ``DEFAULT_SEMI_TRAIN_CFG`` and checks their values in
    :meth:`check_semi_train_cfg`. ``loss()`` calls::

        semi_loss(inputs, data_samples, labelled_idx, unsup_idx, w(t))
        w(t) = lambda * exp(-5 (1 - min(t, T)/T)^2)

    and adds ``unsup.weight`` (logged, not summed: its key has no 'loss').

    Args:
        semi_train_cfg: the method's training options (see subclasses).
        data_preprocessor: e.g. ``SegDataPreProcessor``.
        init_cfg: mmengine init config.
    """

    DEFAULT_SEMI_TRAIN_CFG: dict = dict(
        rampup_iters=0, max_consistency_weight=1.0, unsup_on='unlabelled')

    def __init__(self,
                 semi_train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
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
        self.check_semi_train_cfg(cfg)
        self.semi_train_cfg = ConfigDict(cfg)

    def build_student(self, backbone: dict, decode_head: dict,
                      neck: Optional[dict] = None,
                      auxiliary_head=None, train_cfg: Optional[dict] = None,
                      test_cfg: Optional[dict] = None,
                      pretrained: Optional[str] = None) -> None:
        """Build mmseg's ``EncoderDecoder`` from the usual segmentor keys as
        ``self.student`` (so checkpoints and ``predict`` are mmseg's), for
        methods that train one network, and copy the attributes mmseg code
        reads from a segmentor (``align_corners``, ``num_classes``,
        ``out_channels``)."""
        self.student = MODELS.build(
            dict(
                type='EncoderDecoder',
                backbone=backbone,
                decode_head=decode_head,
                neck=neck,
                auxiliary_head=auxiliary_head,
                train_cfg=train_cfg,
                test_cfg=ConfigDict(test_cfg or dict(mode='whole')),
                pretrained=pretrained))
        self.align_corners = self.student.align_corners
        self.num_classes = self.student.num_classes
        self.out_channels = self.student.out_channels

    def check_semi_train_cfg(self, cfg: dict) -> None:
        """Raise ``ConfigError`` for a bad value of a subclass's own key."""

    def consistency_weight(self, cur_iter: Optional[int] = None) -> float:
        """``w(t) = lambda * exp(-5 (1 - min(t, T)/T)^2)`` at iteration t.

        ``cur_iter`` defaults to the runner's iteration from the MessageHub.
        """
        t = current_train_iter() if cur_iter is None else cur_iter
        return consistency_weight(t, self.semi_train_cfg.max_consistency_weight,
                                  self.semi_train_cfg.rampup_iters)

    @staticmethod
    def zero_loss(*tensors: torch.Tensor) -> torch.Tensor:
        """``0 * sum(t.sum())``: keeps modules in the graph (DDP) at no cost.

        Used as ``sup.loss_none`` when a batch has no labelled sample, so
        every head still receives a (zero) gradient.
        """
        return sum(t.sum() for t in tensors) * 0.0

    def loss(self, inputs: torch.Tensor,
             data_samples: List[SegDataSample]) -> Dict[str, torch.Tensor]:
        """Split the batch, weigh, and call :meth:`semi_loss`."""
        lab, unl = split_labelled(data_samples)
        idx = unl if self.semi_train_cfg.unsup_on == 'unlabelled' \
            else list(range(len(data_samples)))
        weight = self.consistency_weight()
        losses = self.semi_loss(inputs, data_samples, lab, idx, weight)
        losses['unsup.weight'] = torch.tensor(weight, device=inputs.device)
        return losses

    @abstractmethod
    def semi_loss(self, inputs: torch.Tensor,
                  data_samples: List[SegDataSample], labelled: List[int],
                  unsup: List[int], weight: float
                  ) -> Dict[str, torch.Tensor]:
        """The method's losses: ``sup.*`` on ``labelled``, ``unsup.*`` (already
        multiplied by ``weight``) on ``unsup``; ``sup.loss_none`` from
        :meth:`zero_loss` when ``labelled`` is empty."""

    # ------------------------------------------------------------------
    # test time: the routing of mmseg's EncoderDecoder (predict ->
    # inference -> whole / slide -> encode_decode), written against the
    # attributes every subclass that uses it has: ``test_cfg`` and
    # ``out_channels`` (slide mode) and its own ``encode_decode``.
    # ------------------------------------------------------------------
    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[SegDataSample]] = None
                ) -> List[SegDataSample]:
        """SegDataSamples with ``pred_sem_seg`` and ``seg_logits`` on the
        original grid (mmseg's ``postprocess_result``)."""
        if data_samples is not None:
            batch_img_metas = [s.metainfo for s in data_samples]
        else:
            batch_img_metas = [
                dict(
                    ori_shape=inputs.shape[2:],
                    img_shape=inputs.shape[2:],
                    pad_shape=inputs.shape[2:],
                    padding_size=[0, 0, 0, 0])
            ] * inputs.shape[0]
        seg_logits = self.inference(inputs, batch_img_metas)
        return self.postprocess_result(seg_logits, data_samples)

    def inference(self, inputs: torch.Tensor,
                  batch_img_metas: List[dict]) -> torch.Tensor:
        """``test_cfg.mode`` 'whole' (default) or 'slide' inference."""
        assert self.test_cfg.get('mode', 'whole') in ['slide', 'whole'], \
            f'Only "slide" or "whole" test mode are supported, but got ' \
            f'{self.test_cfg["mode"]}.'
        ori_shape = batch_img_metas[0]['ori_shape']
        if not all(m['ori_shape'] == ori_shape for m in batch_img_metas):
            print_log('Image shapes are different in the batch.',
                      logger='current', level=logging.WARN)
        if self.test_cfg.mode == 'slide':
            return self.slide_inference(inputs, batch_img_metas)
        return self.whole_inference(inputs, batch_img_metas)

    def whole_inference(self, inputs: torch.Tensor,
                        batch_img_metas: List[dict]) -> torch.Tensor:
        """``encode_decode`` of the whole image."""
        return self.encode_decode(inputs, batch_img_metas)

    def slide_inference(self, inputs: torch.Tensor,
                        batch_img_metas: List[dict]) -> torch.Tensor:
        """Overlapping windows of ``test_cfg.crop_size`` every
        ``test_cfg.stride``, averaged where they overlap (a window larger
        than the image is decoded without padding)."""
        h_stride, w_stride = self.test_cfg.stride
        h_crop, w_crop = self.test_cfg.crop_size
        batch_size, _, h_img, w_img = inputs.size()
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        preds = inputs.new_zeros((batch_size, self.out_channels, h_img, w_img))
        count_mat = inputs.new_zeros((batch_size, 1, h_img, w_img))
        for h_idx in range(h_grids):
            for w_idx in range(w_grids):
                y2 = min(h_idx * h_stride + h_crop, h_img)
                x2 = min(w_idx * w_stride + w_crop, w_img)
                y1 = max(y2 - h_crop, 0)
                x1 = max(x2 - w_crop, 0)
                crop_img = inputs[:, :, y1:y2, x1:x2]
                batch_img_metas[0]['img_shape'] = crop_img.shape[2:]
                crop_seg_logit = self.encode_decode(crop_img, batch_img_metas)
                preds += F.pad(crop_seg_logit,
                               (int(x1), int(preds.shape[3] - x2), int(y1),
                                int(preds.shape[2] - y2)))
                count_mat[:, :, y1:y2, x1:x2] += 1
        assert (count_mat == 0).sum() == 0
        return preds / count_mat
