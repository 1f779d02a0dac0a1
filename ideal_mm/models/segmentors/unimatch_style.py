"""Single-stream UniMatch-style baseline (after Yang et al., CVPR 2023;
FixMatch when the feature branch is off).

This is this project's variant, kept under its own name: the published recipe
is ``UniMatchSemiSupModel`` (:mod:`.unimatch`). Differences from the
published method (LiheYoung/UniMatch, more-scenarios/medical/unimatch.py):
the unlabelled loss is whatever ``unsup_loss`` says (the configs: CE + Dice
over present classes, with distribution alignment and class-balanced
thresholds) where UniMatch uses Dice only; the CutMix partner is the next
slice *of the same unlabelled batch* with its pseudo-label from the same
train-mode pass (UniMatch: a separate batch predicted in eval mode); boxes
have sides U(1/4, 1/2) of the image (area 6-25 %) instead of area 2-40 %,
aspect 0.3-3.3; the strong views are ``WeakStrongViews``' RandomIntensity
(gamma, contrast, brightness, noise, blur) instead of ColorJitter + blur; the
terms weigh 0.25 + 0.25 + 0.5 against a labelled loss of 1 (UniMatch halves
the whole sum) and can be ramped (``rampup_iters``; UniMatch has no ramp).
"""
from __future__ import annotations

from typing import List, Optional

from mmseg.registry import MODELS

from ...errors import ConfigError
from .semi_base import SemiSupervisedSegmentor
from .unlabelled_signal import SIGNAL_DEFAULTS, UnlabelledSignalMixin


@MODELS.register_module()
class UniMatchStyleSemiSupModel(UnlabelledSignalMixin,
                                SemiSupervisedSegmentor):
    """UniMatch-style: the student's weak-view pseudo-labels supervise the
    student itself (this project's variant; the published recipe is
    ``UniMatchSemiSupModel``, the module docstring lists the differences).

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
    feature branch. One ``StrongViewPseudoLabel(num_views=1)`` alone is
    FixMatch.

    Args:
        segmentor: the student (an mmseg ``EncoderDecoder`` config).
        unsup_branches: unlabelled-data branch configs, at least one
            ``StrongViewPseudoLabel`` (default UniMatch's: 2 strong views
            with CutMix p 0.5 as ``loss_st``, ``FeaturePerturbation(0.5)``).
        semi_train_cfg: ``rampup_iters``, ``max_consistency_weight``,
            ``unsup_on`` (see :class:`SemiSupervisedSegmentor`) and the
            pseudo-label options ``conf_threshold``, ``unsup_loss``.
        pseudo_label_filters: pseudo-label filter configs (see
            :class:`BiConsistencySemiSupModel`).
        semi_test_cfg, data_preprocessor, init_cfg: see the base.
    """

    DEFAULT_SEMI_TRAIN_CFG = dict(
        SIGNAL_DEFAULTS,
        max_consistency_weight=0.5,
        conf_threshold=0.95,
        unsup_loss=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True,
            loss_name='loss_st'))
    DEFAULT_UNSUP_BRANCHES = [
        dict(
            type='StrongViewPseudoLabel',
            num_views=2,
            cutmix_prob=0.5,
            loss_name='loss_st'),
        dict(type='FeaturePerturbation', p=0.5),
    ]

    def __init__(self,
                 segmentor: dict,
                 unsup_branches: Optional[List[dict]] = None,
                 pseudo_label_filters: Optional[List[dict]] = None,
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(segmentor, semi_train_cfg, semi_test_cfg,
                         data_preprocessor, init_cfg)
        self.build_signal(
            1, self.DEFAULT_UNSUP_BRANCHES if unsup_branches is None else
            unsup_branches, pseudo_label_filters)
        if not any(b.num_views for b in self.unsup_branches):
            raise ConfigError(
                'UniMatchStyleSemiSupModel needs a strong view: add '
                "dict(type='StrongViewPseudoLabel', num_views=n) to "
                'model.unsup_branches and WeakStrongViews to the train '
                'pipeline')

    def check_semi_train_cfg(self, cfg: dict) -> None:
        """The shared pseudo-label option checks."""
        self.check_signal_cfg(cfg)
