"""IDEAL stage 2: one shared encoder, two decoders, bidirectional consistency.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmseg.registry import MODELS

from ...errors import ConfigError
from .semi_base import SemiSupervisedSegmentor
from .unlabelled_signal import SIGNAL_DEFAULTS, UnlabelledSignalMixin

#: keys of the flat form (before the student became ``segmentor``) and
#: where each one lives now
FLAT_KEYS = dict(
    backbone='segmentor.backbone',
    decode_head_1='segmentor.decode_head',
    neck='segmentor.neck',
    auxiliary_head='segmentor.auxiliary_head',
    train_cfg='segmentor.train_cfg',
    test_cfg='segmentor.test_cfg',
    pretrained='segmentor.pretrained')


def check_student_form(segmentor: Optional[dict],
                       decode_head_2: Optional[dict],
                       flat_keys: Dict[str, object]) -> None:
    """Raise ``ConfigError`` naming the new form for a config written for
    the flat form (``model.backbone`` / ``model.decode_head_1``), for an
    unknown key, and when ``segmentor`` or ``decode_head_2`` is missing."""
    moved = sorted(k for k in flat_keys if k in FLAT_KEYS)
    if moved:
        where = ', '.join(f'model.{k} -> model.{FLAT_KEYS[k]}' for k in moved)
        raise ConfigError(
            'BiConsistencySemiSupModel takes the student (stream 1) as '
            "model.segmentor=dict(type='EncoderDecoder', backbone=..., "
            'decode_head=<stream 1>, ...) and stream 2 as '
            f'model.decode_head_2; move {where}')
    if flat_keys:
        raise ConfigError(
            f'unknown BiConsistencySemiSupModel keys {sorted(flat_keys)} '
            '(model.*); see the class docstring')
    if segmentor is None or decode_head_2 is None:
        raise ConfigError(
            'BiConsistencySemiSupModel needs model.segmentor (the student: '
            "dict(type='EncoderDecoder', backbone=..., decode_head=<stream "
            "1>)) and model.decode_head_2 (stream 2's decode head)")


@MODELS.register_module()
class BiConsistencySemiSupModel(UnlabelledSignalMixin,
                                SemiSupervisedSegmentor):
    """IDEAL fine-tuning: the student plus a second head, cross pseudo-labels.

    The student (``segmentor``, an mmseg ``EncoderDecoder``: the shared
    encoder and stream 1's decoder) is stream 1; ``decode_head_2`` on the
    same encoder features is stream 2. Both streams see the same batch:
    ``z_k = D_k(E(x))`` for k = 1, 2, one encoder forward and one forward
    per decoder on the whole batch. Losses with the default branch
    (``WeakViewPseudoLabel``)
    (``L`` = labelled indices, ``U`` = pseudo-labelled indices)::

        sup.s{k}.*        = head_k.loss_by_feat(z_k[L], gt[L])   # each head's
                            loss_decode, e.g. CE + Dice, per stream
        y1 = argmax softmax(z1), y2 = argmax softmax(z2)        # detached
             (pixels with max prob < conf_threshold, or on padding -> ignore)
        unsup.s2.loss_cps = w(t) * CE(z2[U], y1[U])   # stream 1 teaches 2
        unsup.s1.loss_cps = w(t) * CE(z1[U], y2[U])   # stream 2 teaches 1
        w(t)              = lambda * exp(-5 (1 - min(t, T)/T)^2)

    ``unsup.sK`` names the stream that *receives* the gradient: the y1-term
    (``unsup.s2.loss_cps``) back-propagates into D2 and E, never into D1,
    because y1 is a detached argmax. CE averages over non-ignored pixels
    (``avg_non_ignore=True``); it is mmseg's ``CrossEntropyLoss`` unless
    ``semi_train_cfg.unsup_loss`` says otherwise. Logits are resized to the
    input size before pseudo-labelling (encoders such as ResNet decode at
    1/4). Non-loss keys ``unsup.weight`` (w(t) in force) and
    ``unsup.s{k}.kept`` (fraction of pixels of the pseudo-labels that
    supervise stream k above the threshold) are logged but not summed by
    ``BaseModel.parse_losses``, which only sums keys containing ``'loss'``.

    Which samples get pseudo-labels (``semi_train_cfg.unsup_on``):
    ``'unlabelled'`` (default; the IDEAL paper and DESIGN.md: labelled
    slices are supervised by their ground truth only) or ``'all'`` (SSL4MIS's
    cross pseudo supervision applies the CPS term to the whole batch).

    A sample is labelled when its data sample has ``gt_sem_seg`` (the
    unlabelled pipeline loads no label, see docs/data_contract.md).

    Unlabelled-data branches (``unsup_branches``, components of
    :mod:`.unsup_branches`, run in order; default the plain weak-view term
    above): ``StrongViewPseudoLabel`` (FixMatch / UniMatch strong views,
    optional CutMix), ``FeaturePerturbation`` (UniMatch's feature dropout,
    ``loss_fp``), ``BidirectionalCopyPaste`` (BCP, ``loss_bcp``); with two
    streams each term of stream k uses the other stream's pseudo-labels.

    Pseudo-label filters (``pseudo_label_filters``, components of
    :mod:`.pseudo_label_filters`; none by default, the paper's form):

    * ``DistributionAlignment(momentum)`` (ReMixMatch's distribution
      alignment): each stream's weak-view probabilities are rescaled by
      ``prior / marginal`` (EMA of the labelled class shares over EMA of
      that stream's mean prediction on unlabelled pixels) before argmax and
      threshold, so pseudo-labels cannot drift to all-background while the
      labelled slices hold foreground. For the unlabelled Dice term use
      ``ClassDiceLoss(present_only=True)``.
    * ``ClassBalancedThreshold(portion=q)`` (with ``conf_threshold``;
      class-balanced self-training, CBST): the threshold of class c is
      lowered to the confidence of the top ``q`` share of the pixels
      predicted as c in the batch, so a rare class that is never
      0.95-confident still gives pseudo-labels
      (``pseudo_labelling.class_thresholds``).

    Logged diagnostics (not summed): ``unsup.s{k}.kept`` (share of confident
    pseudo-label pixels that supervise stream k), ``unsup.agree`` (share of
    pixels where the streams' weak-view argmax agree), and, when unlabelled
    samples carry a hidden label (``oracle_sem_seg``, from
    ``ACDCDataset(oracle_labels=True)`` + ``PackSemiSegInputs``),
    ``oracle.s{k}.pl_acc`` / ``oracle.s{k}.pl_fg_dice``: accuracy over kept
    pixels and mean foreground Dice of stream k's pseudo-label against it.
    Oracle figures are for analysis only; no loss reads them. A collapse
    is visible without hidden labels too: ``unsup.s{k}.fg`` is the share of
    valid unlabelled pixels whose (kept) pseudo-label for stream k is
    foreground, ``sup.fg`` the foreground share of the labelled pixels.

    Distributed training: every decoder and auxiliary-head parameter gets a
    gradient in every step as long as each batch holds labelled samples
    (guaranteed by ``SemiSupMultiSourceSampler``). Set
    ``find_unused_parameters=True`` in ``model_wrapper_cfg`` when the backbone
    has outputs or parameters no head consumes (e.g. ``in_index`` skips a
    level, or an auxiliary head is configured but batches may lack labels).

    Args:
        segmentor: the student, stream 1: any mmseg segmentor config
            (``type`` defaults to ``'EncoderDecoder'``) with the shared
            encoder (``backbone``, any mmseg backbone returning multi-level
            features, e.g. ``UNetEncoder``, ``ResNetV1c``,
            ``MixVisionTransformer``), stream 1's decoder
            (``decode_head``), and optionally ``neck``, ``auxiliary_head``
            (trained on labelled samples only, keys ``sup.aux.*``),
            ``train_cfg``, ``test_cfg`` (mmseg inference, ``mode='whole'``
            or ``'slide'``) and ``pretrained``. A stage-1 ``encoder.pth``
            is loaded with ``backbone.init_cfg=dict(type='Pretrained',
            checkpoint=..., prefix='backbone.')``.
        decode_head_2: stream 2's decoder on the student's encoder
            features, usually of another architecture (any mmseg decode
            head). The flat keys of earlier versions (``backbone``,
            ``decode_head_1``, ``neck``, ...) raise ``ConfigError`` naming
            where they moved.
        semi_train_cfg: ``rampup_iters`` (T, iterations; 0 = no ramp-up),
            ``max_consistency_weight`` (lambda), ``conf_threshold`` (None or
            a probability in (0, 1)), ``unsup_on`` ('unlabelled' | 'all'),
            ``unsup_loss`` (loss config, or a list of them that is summed,
            for the pseudo-label terms; e.g. CE + ``ClassDiceLoss``, whose
            per-class Dice keeps confident background from swamping the
            rare foreground of unlabelled slices). Supervised loss weights
            are the heads' ``loss_decode`` weights.
        unsup_branches: list of unlabelled-data branch configs (default
            ``[dict(type='WeakViewPseudoLabel')]``).
        pseudo_label_filters: list of pseudo-label filter configs
            (``DistributionAlignment``, ``ClassBalancedThreshold``; default
            none).
        semi_test_cfg: ``predict_on``: 's1', 's2' or 'mean' (mean of the two
            softmax maps; ``seg_logits`` then holds probabilities).
        data_preprocessor: e.g. ``SegDataPreProcessor``.
        init_cfg: mmengine init config of the whole model.
    """

    DEFAULT_SEMI_TRAIN_CFG = SIGNAL_DEFAULTS
    DEFAULT_UNSUP_BRANCHES = [dict(type='WeakViewPseudoLabel')]
    STREAMS = dict(s1='student', s2=None, mean=None)
    DEFAULT_PREDICT_ON = 's1'

    def __init__(self,
                 segmentor: Optional[dict] = None,
                 decode_head_2: Optional[dict] = None,
                 unsup_branches: Optional[List[dict]] = None,
                 pseudo_label_filters: Optional[List[dict]] = None,
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 **flat_keys) -> None:
        check_student_form(segmentor, decode_head_2, flat_keys)
        super().__init__(segmentor, semi_train_cfg, semi_test_cfg,
                         data_preprocessor, init_cfg)
        self.decode_head_2 = MODELS.build(decode_head_2)
        if self.out_channels != self.decode_head_2.out_channels:
            raise ConfigError(
                'model.segmentor.decode_head and model.decode_head_2 must '
                f'predict the same classes (out_channels {self.out_channels}'
                f' vs {self.decode_head_2.out_channels})')
        self.build_signal(
            2, self.DEFAULT_UNSUP_BRANCHES if unsup_branches is None else
            unsup_branches, pseudo_label_filters)

    def check_semi_train_cfg(self, cfg: dict) -> None:
        """Check the pseudo-label options."""
        self.check_signal_cfg(cfg)

    @property
    def decode_head_1(self) -> nn.Module:
        """Stream 1's decoder, the student's decode head."""
        return self.student.decode_head

    @property
    def decode_head(self) -> nn.Module:
        """The head that ``predict_on`` uses (stream 2 for 's2', else 1).

        mmseg code reads ``model.decode_head`` (e.g. ``threshold``,
        ``num_classes``); this is not a third module.
        """
        return self.decode_head_2 if self.semi_test_cfg.predict_on == 's2' \
            else self.student.decode_head

    def stream_heads(self) -> Tuple[nn.Module, nn.Module]:
        """Stream 1's and stream 2's decoders."""
        return self.student.decode_head, self.decode_head_2

    def encode_decode_stream(self, inputs: torch.Tensor,
                             batch_img_metas: List[dict]) -> torch.Tensor:
        """Stream 2's logits, or the mean of both streams' softmax maps, at
        the input size."""
        x = self.student.extract_feat(inputs)
        cfg = self.test_cfg
        if self.semi_test_cfg.predict_on == 's2':
            return self.decode_head_2.predict(x, batch_img_metas, cfg)
        p1, p2 = (
            head.predict(x, batch_img_metas, cfg).softmax(dim=1)
            for head in self.stream_heads())
        return (p1 + p2) / 2
