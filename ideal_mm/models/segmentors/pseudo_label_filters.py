"""Pseudo-label filters: registered components, composed in the config as
``model.pseudo_label_filters``, that change how a pseudo-labelling
segmentor turns a stream's weak-view probabilities into hard labels::

    model = dict(
        type='BiConsistencySemiSupModel', ...,
        semi_train_cfg=dict(conf_threshold=0.95),
        pseudo_label_filters=[
            dict(type='DistributionAlignment', momentum=0.99),
            dict(type='ClassBalancedThreshold', portion=0.5),
        ])

A filter may rescale the probabilities before argmax and threshold
(:meth:`PseudoLabelFilter.transform`, e.g. distribution alignment, which also
learns the labelled class prior from :meth:`PseudoLabelFilter.update_prior`)
or lower ``conf_threshold`` per class (``class_portion``, class-balanced
self-training); :func:`.pseudo_labelling.pseudo_labels` applies them. The
model builds each filter with ``num_classes`` and ``num_streams`` filled in.
mmseg has no pseudo-label parts (its segmentors are supervised).
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from mmseg.registry import MODELS

from ...errors import ConfigError


class PseudoLabelFilter(nn.Module):
    """Base of the filters; the defaults change nothing.

    Args:
        num_classes: C (filled in by the model).
        num_streams: the model's number of streams (filled in by the model).
    """

    #: per-class threshold portion (``ClassBalancedThreshold``) or None
    class_portion: Optional[float] = None

    def __init__(self, num_classes: int, num_streams: int) -> None:
        super().__init__()
        self.num_classes = int(num_classes)
        self.num_streams = int(num_streams)

    def update_prior(self, labels: torch.Tensor, ignore_index: int) -> None:
        """See the labelled pixels (N, H, W) of a batch (every rank, every
        step, also with none)."""

    def transform(self, stream: int, prob: torch.Tensor,
                  valid: torch.Tensor) -> torch.Tensor:
        """The probabilities (N, C, H, W) labels and confidence come from."""
        return prob


@MODELS.register_module()
class ClassBalancedThreshold(PseudoLabelFilter):
    """Class-balanced thresholds (CBST, Zou et al., ECCV 2018): the threshold
    of class c is lowered to the confidence of the top ``portion`` share of
    the pixels predicted as c in the batch, ``t_c = min(conf_threshold,
    q_c)`` (:func:`.pseudo_labelling.class_thresholds`), so a rare class
    that is never as confident as ``conf_threshold`` still gives labels.
    Needs ``semi_train_cfg.conf_threshold``.

    Args:
        portion: in (0, 1].
        num_classes, num_streams: filled in by the model.
    """

    def __init__(self,
                 portion: float = 0.5,
                 num_classes: int = 0,
                 num_streams: int = 1) -> None:
        super().__init__(num_classes, num_streams)
        if not 0.0 < float(portion) <= 1.0:
            raise ConfigError('model.pseudo_label_filters: '
                              'ClassBalancedThreshold.portion must be in '
                              f'(0, 1], got {portion!r}')
        self.class_portion = float(portion)
