"""``SemiSupervisedSegmentor``: what every semi-supervised segmentor shares.

The shape of mmdet's ``SemiBaseDetector``, for mmseg segmentors: the base owns
``semi_train_cfg`` (defaults, unknown-key and value checks), the split of a
batch into labelled samples and the samples that get a consistency loss, the
ramped consistency weight, the guard that keeps every head in the graph when a
batch has no labelled sample (DDP), and the ``unsup.weight`` log key. A method
writes one thing: :meth:`semi_loss`, its losses given that split and weight.
mmseg has no semi-supervised segmentor to inherit from; mmdet's base is for
detectors (teacher/student dicts, box pseudo-labels) and mmdet is not a
dependency.
"""
from __future__ import annotations

from abc import abstractmethod
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import ConfigDict
from mmseg.models.segmentors.base import BaseSegmentor
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
