"""IDEAL stage 2: one shared encoder, two decoders, bidirectional consistency.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ...errors import ConfigError
from .semi_base import SemiBatch, SemiSupervisedSegmentor
from .unlabelled_signal import (SIGNAL_DEFAULTS, PseudoLabels,
                                UnlabelledSignalMixin)

COPY_PASTE_DEFAULT = dict(prob=1.0, ratio=2 / 3)


@MODELS.register_module()
class BiConsistencySemiSupModel(UnlabelledSignalMixin,
                                SemiSupervisedSegmentor):
    """IDEAL fine-tuning: shared encoder E, decoders D1 and D2, cross pseudo-labels.

    The student (mmseg ``EncoderDecoder`` of ``backbone`` and
    ``decode_head_1``) is stream 1; ``decode_head_2`` on the same encoder
    features is stream 2. Both streams see the same batch: ``z_k = D_k(E(x))`` for k = 1, 2, one
    encoder forward and one forward per decoder on the whole batch. Losses
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

    Options that give the unlabelled slices more signal (all off by default,
    which is the paper's form; each composes with the others):

    * ``strong_views=n`` (FixMatch / UniMatch): inputs carry the weak view
      and n strong views as channel groups (``WeakStrongViews`` in the train
      pipeline). Pseudo-labels come from the weak view, and the CPS terms
      move to the strong views: ``unsup.s2.loss_cps = w/n * sum_v CE(z2(s_v),
      y1)`` (and the same with 1 and 2 swapped). Labelled samples are
      supervised on their weak view.
    * ``cutmix_prob=p`` (needs strong views): with probability p per
      pseudo-labelled sample, a random box of its strong views (side 1/4 to
      1/2 of the image, random position) is replaced by the same box of the
      next pseudo-labelled sample in the batch, and the box of its
      pseudo-labels likewise, so the target stays exact.
    * ``feature_dropout=p`` (UniMatch's feature perturbation): a third branch
      decodes the weak view's encoder features after ``Dropout2d(p)`` at every
      level; ``unsup.s{k}.loss_fp = w * CE(z_k(drop(E(x))), y_other)``.
    * ``copy_paste=dict(prob, ratio)`` (BCP, bidirectional copy-paste): each
      pseudo-labelled sample u is paired with a labelled sample a; a central
      box of side ``ratio`` (random position) is swapped both ways,
      ``x_in = a outside / u inside`` and ``x_out = u outside / a inside``,
      with targets made of the ground truth of a and the other stream's
      pseudo-label of u in the same places;
      ``unsup.s{k}.loss_bcp = w * CE(z_k([x_in, x_out]), target_other)``.
    * ``dist_align=dict(momentum)`` (or True; ReMixMatch's distribution
      alignment, :class:`DistributionAlignment`): each stream's weak-view
      probabilities are rescaled by ``prior / marginal`` (EMA of the labelled
      class shares over EMA of that stream's mean prediction on unlabelled
      pixels) before argmax and threshold, so pseudo-labels cannot drift to
      all-background while the labelled slices hold foreground. For the
      unlabelled Dice term use ``ClassDiceLoss(present_only=True)``.
    * ``class_portion=q`` (with ``conf_threshold``; class-balanced
      self-training, CBST): the threshold of class c is lowered to the
      confidence of the top ``q`` share of the pixels predicted as c in the
      batch, so a rare class that is never 0.95-confident still gives
      pseudo-labels (:func:`class_thresholds`).

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
        backbone: the shared encoder, any mmseg backbone returning a tuple of
            multi-level features (e.g. ``UNetEncoder``, ``ResNetV1c``,
            ``MixVisionTransformer``).
        decode_head_1: stream 1's decoder (any mmseg decode head).
        decode_head_2: stream 2's decoder, usually of another architecture.
        neck: optional mmseg neck between encoder and decoders.
        auxiliary_head: optional mmseg head (or list) trained on labelled
            samples only, keys ``sup.aux.*`` / ``sup.aux_{i}.*``.
        semi_train_cfg: ``rampup_iters`` (T, iterations; 0 = no ramp-up),
            ``max_consistency_weight`` (lambda), ``conf_threshold`` (None or
            a probability in (0, 1)), ``unsup_on`` ('unlabelled' | 'all'),
            ``unsup_loss`` (loss config, or a list of them that is summed,
            for the pseudo-label terms; e.g. CE + ``ClassDiceLoss``, whose
            per-class Dice keeps confident background from swamping the
            rare foreground of unlabelled slices),
            ``strong_views`` (int, 0 = off), ``cutmix_prob`` (float),
            ``feature_dropout`` (float, 0 = off), ``copy_paste`` (None or
            dict(prob, ratio)), ``dist_align`` (None, True or
            dict(momentum)), ``class_portion`` (None or in (0, 1]). Supervised loss weights are the heads'
            ``loss_decode`` weights.
        semi_test_cfg: ``predict_on``: 's1', 's2' or 'mean' (mean of the two
            softmax maps; ``seg_logits`` then holds probabilities).
        train_cfg: passed to the auxiliary heads' ``loss`` (mmseg).
        test_cfg: mmseg inference settings, ``mode='whole'`` or ``'slide'``
            (with ``crop_size`` and ``stride``).
        data_preprocessor: e.g. ``SegDataPreProcessor``.
        pretrained: backbone checkpoint, as in mmseg's ``EncoderDecoder``
            (a stage-1 ``encoder.pth`` is loaded with the backbone's
            ``init_cfg=dict(type='Pretrained', checkpoint=...,
            prefix='backbone.')`` instead).
        init_cfg: mmengine init config of the whole model.
    """

    DEFAULT_SEMI_TRAIN_CFG = dict(SIGNAL_DEFAULTS, copy_paste=None)
    STREAMS = dict(s1='student', s2=None, mean=None)
    DEFAULT_PREDICT_ON = 's1'

    def __init__(self,
                 backbone: dict,
                 decode_head_1: dict,
                 decode_head_2: dict,
                 neck: Optional[dict] = None,
                 auxiliary_head: Optional[Union[dict, List[dict]]] = None,
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if pretrained is not None and backbone.get('pretrained') is not None:
            raise ConfigError('set either model.pretrained or '
                              'model.backbone.pretrained, not both')
        super().__init__(
            dict(type='EncoderDecoder', backbone=backbone,
                 decode_head=decode_head_1, neck=neck,
                 auxiliary_head=auxiliary_head, train_cfg=train_cfg,
                 test_cfg=test_cfg, pretrained=pretrained),
            semi_train_cfg, semi_test_cfg, data_preprocessor, init_cfg)
        self.decode_head_2 = MODELS.build(decode_head_2)
        if self.out_channels != self.decode_head_2.out_channels:
            raise ConfigError(
                'model.decode_head_1 and model.decode_head_2 must predict the '
                f'same classes (out_channels {self.out_channels}'
                f' vs {self.decode_head_2.out_channels})')
        self.build_signal(num_streams=2)

    def check_semi_train_cfg(self, cfg: dict) -> None:
        """Check the threshold and the unlabelled-signal options."""
        self.check_signal_cfg(cfg)
        cp = cfg['copy_paste']
        if cp is not None:
            if not isinstance(cp, dict) or set(cp) - set(COPY_PASTE_DEFAULT):
                raise ConfigError(
                    'model.semi_train_cfg.copy_paste must be None or a dict '
                    f'with keys {sorted(COPY_PASTE_DEFAULT)}, got {cp!r}')
            cp = dict(COPY_PASTE_DEFAULT, **cp)
            if not 0.0 <= float(cp['prob']) <= 1.0 or \
                    not 0.0 < float(cp['ratio']) < 1.0:
                raise ConfigError(
                    'model.semi_train_cfg.copy_paste needs prob in [0, 1] and '
                    f'ratio in (0, 1), got {cp!r}')
            if cfg['unsup_on'] == 'all':
                raise ConfigError(
                    "model.semi_train_cfg.copy_paste needs unsup_on="
                    "'unlabelled': with 'all' labelled slices would be "
                    'pasted into themselves')
            cfg['copy_paste'] = cp

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
        p1, p2 = (head.predict(x, batch_img_metas, cfg).softmax(dim=1)
                  for head in self.stream_heads())
        return (p1 + p2) / 2

    def _decode(self, feats, size: Tuple[int, int]
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Both streams' logits, resized to ``size``."""
        return tuple(
            resize(head.forward(feats), size=size, mode='bilinear',
                   align_corners=head.align_corners)
            for head in self.stream_heads())

    def loss_by_pseudo(self, batch: SemiBatch, pseudo: PseudoLabels
                       ) -> Dict[str, torch.Tensor]:
        """The cross pseudo-label terms of every configured branch."""
        cfg, unsup, weight = self.semi_train_cfg, batch.unsup, batch.weight
        y1, y2 = pseudo.labels
        size = batch.size
        losses: Dict[str, torch.Tensor] = {}

        def cross(z: Tuple[torch.Tensor, torch.Tensor],
                  t1: torch.Tensor, t2: torch.Tensor,
                  name: str) -> None:
            # stream 1's target (t1) teaches stream 2 and vice versa
            losses[f'unsup.s2.{name}'] = weight * self.unsup_loss(z[1], t1)
            losses[f'unsup.s1.{name}'] = weight * self.unsup_loss(z[0], t2)

        n_strong = len(batch.views) - 1
        if n_strong == 0:
            cross(pseudo.z_weak, y1, y2, 'loss_cps')
        else:
            strong = torch.cat([v[unsup] for v in batch.views[1:]])
            targets = [y.repeat(n_strong, 1, 1) for y in (y1, y2)]
            if cfg.cutmix_prob > 0:
                strong, targets = self._cutmix(strong, targets, len(unsup))
            cross(self._decode(self.student.extract_feat(strong), size),
                  *targets, 'loss_cps')
        if cfg.feature_dropout > 0:
            x_fp = [self.feature_dropout(f[unsup]) for f in batch.feats]
            cross(self._decode(x_fp, size), y1, y2, 'loss_fp')
        if cfg.copy_paste is not None and batch.labelled:
            self._copy_paste(batch, (y1, y2), cross)
        return losses

    def _copy_paste(self, batch: SemiBatch,
                    pseudo: Tuple[torch.Tensor, torch.Tensor],
                    cross) -> None:
        """Bidirectional copy-paste (BCP) between labelled and pseudo-labelled
        samples; the mixed targets use each stream's pseudo-label for the
        other stream."""
        cp = self.semi_train_cfg.copy_paste
        labelled, unsup, weak = batch.labelled, batch.unsup, batch.weak
        n = min(len(labelled), len(unsup))
        size = weak.shape[2:]
        a, u = weak[labelled[:n]], weak[unsup[:n]]
        gt = torch.stack([
            batch.data_samples[i].gt_sem_seg.data[0] for i in labelled[:n]
        ]).to(device=weak.device, dtype=torch.long)
        r = float(cp['ratio'])
        box = self.random_boxes(n, size, (r, r), float(cp['prob']),
                                weak.device)
        x_in = torch.where(box[:, None], u, a)
        x_out = torch.where(box[:, None], a, u)
        targets = []
        for y in pseudo:
            y = y[:n]
            targets.append(torch.cat([torch.where(box, y, gt),
                                      torch.where(box, gt, y)]))
        z = self._decode(self.student.extract_feat(torch.cat([x_in, x_out])),
                         size)
        cross(z, targets[0], targets[1], 'loss_bcp')
