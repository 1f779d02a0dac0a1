"""IDEAL stage 2: one shared encoder, two decoders, bidirectional consistency.

Over 300 lines on purpose: a third of the file is the class docstring, the
one place that states every loss term and option of the method with its
formula; the code is the model (shared encoder, auxiliary heads, the two
streams) and its one loss.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import add_prefix

from ...errors import ConfigError
from .semi_base import SemiSupervisedSegmentor, split_labelled  # noqa: F401 (re-export)
from .unlabelled_signal import (SIGNAL_DEFAULTS, UnlabelledSignalMixin,  # noqa: F401
                                padding_mask, pseudo_labels)

PREDICT_ON = ('s1', 's2', 'mean')
DEFAULT_SEMI_TRAIN_CFG = dict(
    rampup_iters=0,
    max_consistency_weight=1.0,
    unsup_on='unlabelled',
    **SIGNAL_DEFAULTS,
    copy_paste=None,
)
COPY_PASTE_DEFAULT = dict(prob=1.0, ratio=2 / 3)


@MODELS.register_module()
class BiConsistencySemiSupModel(UnlabelledSignalMixin,
                                SemiSupervisedSegmentor):
    """IDEAL fine-tuning: shared encoder E, decoders D1 and D2, cross pseudo-labels.

    Both streams see the same batch: ``z_k = D_k(E(x))`` for k = 1, 2, one
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

    DEFAULT_SEMI_TRAIN_CFG = DEFAULT_SEMI_TRAIN_CFG

    # mmseg's EncoderDecoder arguments, as every segmentor here takes them
    # (the look-alike signatures of the three methods)
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
        super().__init__(
            semi_train_cfg=semi_train_cfg,
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if pretrained is not None:
            if backbone.get('pretrained') is not None:
                raise ConfigError(
                    'set either model.pretrained or '
                    'model.backbone.pretrained, not both')
            backbone['pretrained'] = pretrained
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        self.decode_head_1 = MODELS.build(decode_head_1)
        self.decode_head_2 = MODELS.build(decode_head_2)
        if self.decode_head_1.out_channels != \
                self.decode_head_2.out_channels:
            raise ConfigError(
                'model.decode_head_1 and model.decode_head_2 must predict the '
                f'same classes (out_channels {self.decode_head_1.out_channels}'
                f' vs {self.decode_head_2.out_channels})')
        self.auxiliary_head = None
        self._init_auxiliary_head(auxiliary_head)
        self.align_corners = self.decode_head_1.align_corners
        self.num_classes = self.decode_head_1.num_classes
        self.out_channels = self.decode_head_1.out_channels
        self.ignore_index = self.decode_head_1.ignore_index
        self.build_signal(num_streams=2)

        test = dict(predict_on='s1')
        test.update(semi_test_cfg or {})
        if test['predict_on'] not in PREDICT_ON:
            raise ConfigError(
                f'model.semi_test_cfg.predict_on must be one of {PREDICT_ON},'
                f' got {test["predict_on"]!r}')
        self.semi_test_cfg = ConfigDict(test)
        self.train_cfg = train_cfg
        self.test_cfg = ConfigDict(test_cfg or dict(mode='whole'))

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
            cfg['copy_paste'] = cp

    def _init_auxiliary_head(self, auxiliary_head: Optional[
            Union[dict, List[dict]]]) -> None:
        """Build ``auxiliary_head`` (one head, or a ModuleList of heads)."""
        if isinstance(auxiliary_head, list):
            self.auxiliary_head = nn.ModuleList(
                MODELS.build(head) for head in auxiliary_head)
        elif auxiliary_head is not None:
            self.auxiliary_head = MODELS.build(auxiliary_head)

    def _auxiliary_head_forward_train(self, feats: List[torch.Tensor],
                                      data_samples: List[SegDataSample]
                                      ) -> Dict[str, torch.Tensor]:
        """Losses of the auxiliary head(s): ``aux.*`` or ``aux_{i}.*``."""
        if isinstance(self.auxiliary_head, nn.ModuleList):
            losses = {}
            for i, head in enumerate(self.auxiliary_head):
                losses.update(add_prefix(
                    head.loss(feats, data_samples, self.train_cfg),
                    f'aux_{i}'))
            return losses
        return add_prefix(
            self.auxiliary_head.loss(feats, data_samples, self.train_cfg),
            'aux')

    def extract_feat(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """The shared encoder's multi-level features (through the neck)."""
        x = self.backbone(inputs)
        if self.with_neck:
            x = self.neck(x)
        return x

    @property
    def decode_head(self) -> nn.Module:
        """The head that ``predict_on`` uses (stream 2 for 's2', else 1).

        mmseg code reads ``model.decode_head`` (e.g. ``threshold``,
        ``num_classes``); this is not a third module.
        """
        return self.decode_head_2 if self.semi_test_cfg.predict_on == 's2' \
            else self.decode_head_1

    def _forward(self,
                 inputs: torch.Tensor,
                 data_samples: Optional[List[SegDataSample]] = None
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Raw logits of both streams (at the decoders' output size)."""
        x = self.extract_feat(inputs)
        return self.decode_head_1.forward(x), self.decode_head_2.forward(x)

    def encode_decode(self, inputs: torch.Tensor,
                      batch_img_metas: List[dict]) -> torch.Tensor:
        """Logits of ``predict_on`` at the input size (mean: probabilities)."""
        x = self.extract_feat(inputs)
        on = self.semi_test_cfg.predict_on
        if on == 's1':
            return self.decode_head_1.predict(x, batch_img_metas,
                                              self.test_cfg)
        if on == 's2':
            return self.decode_head_2.predict(x, batch_img_metas,
                                              self.test_cfg)
        p1 = self.decode_head_1.predict(x, batch_img_metas,
                                        self.test_cfg).softmax(dim=1)
        p2 = self.decode_head_2.predict(x, batch_img_metas,
                                        self.test_cfg).softmax(dim=1)
        return (p1 + p2) / 2

    def _decode(self, feats: Sequence[torch.Tensor], size: Tuple[int, int]
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Both streams' logits, resized to ``size``."""
        return tuple(
            resize(head.forward(feats), size=size, mode='bilinear',
                   align_corners=head.align_corners)
            for head in (self.decode_head_1, self.decode_head_2))

    def semi_loss(self, inputs: torch.Tensor,
                  data_samples: List[SegDataSample], labelled: List[int],
                  unsup: List[int], weight: float
                  ) -> Dict[str, torch.Tensor]:
        """Supervised losses of both streams plus the weighted cross terms."""
        cfg = self.semi_train_cfg
        views = self.split_views(inputs)
        weak = views[0]
        size = weak.shape[2:]
        x = self.extract_feat(weak)
        logits = (self.decode_head_1.forward(x),
                  self.decode_head_2.forward(x))
        heads = (self.decode_head_1, self.decode_head_2)
        losses: Dict[str, torch.Tensor] = {}

        self.labelled_statistics(losses, data_samples, labelled,
                                 inputs.device)
        if labelled:
            lab_samples = [data_samples[i] for i in labelled]
            for k, (head, z) in enumerate(zip(heads, logits), start=1):
                sup = head.loss_by_feat(z[labelled], lab_samples)
                losses.update(add_prefix(sup, f'sup.s{k}'))
            if self.with_auxiliary_head:
                lab_feats = [f[labelled] for f in x]
                losses.update(
                    add_prefix(
                        self._auxiliary_head_forward_train(
                            lab_feats, lab_samples), 'sup'))
        else:
            # Keep both decoders in the graph (DDP) with a zero loss.
            losses['sup.loss_none'] = self.zero_loss(*logits)
        if not unsup:
            if self.dist_align is not None:  # collective: every rank updates
                self.stream_pseudo_labels(
                    [z[:0] for z in logits],
                    torch.zeros((0, ) + tuple(logits[0].shape[2:]),
                                dtype=torch.bool, device=inputs.device))
            return losses

        device = inputs.device
        z_weak = tuple(
            resize(z[unsup], size=size, mode='bilinear',
                   align_corners=head.align_corners)
            for z, head in zip(logits, heads))
        valid = padding_mask(data_samples, unsup, size, device)
        (y1, kept1), (y2, kept2) = self.stream_pseudo_labels(z_weak, valid)
        # y1 (stream 1's pseudo-label) supervises stream 2: unsup.s2.*
        losses['unsup.s2.kept'], losses['unsup.s2.fg'] = \
            self.pseudo_label_shares(y1, kept1, valid)
        losses['unsup.s1.kept'], losses['unsup.s1.fg'] = \
            self.pseudo_label_shares(y2, kept2, valid)
        with torch.no_grad():
            preds = tuple(z.argmax(dim=1) for z in z_weak)
            losses['unsup.agree'] = (preds[0] == preds[1])[valid].float(
            ).mean() if valid.any() else torch.ones((), device=device)
        self.oracle_figures(losses, data_samples, unsup, preds, (y1, y2),
                            (kept1, kept2), ('s1.', 's2.'))

        def cross(z: Tuple[torch.Tensor, torch.Tensor],
                  t1: torch.Tensor, t2: torch.Tensor,
                  name: str) -> None:
            # stream 1's target (t1) teaches stream 2 and vice versa
            losses[f'unsup.s2.{name}'] = weight * self.unsup_loss(z[1], t1)
            losses[f'unsup.s1.{name}'] = weight * self.unsup_loss(z[0], t2)

        n_strong = len(views) - 1
        if n_strong == 0:
            cross(z_weak, y1, y2, 'loss_cps')
        else:
            strong = torch.cat([v[unsup] for v in views[1:]])
            targets = [y.repeat(n_strong, 1, 1) for y in (y1, y2)]
            if cfg.cutmix_prob > 0:
                strong, targets = self._cutmix(strong, targets, len(unsup))
            cross(self._decode(self.extract_feat(strong), size), *targets,
                  'loss_cps')
        if cfg.feature_dropout > 0:
            x_fp = [self.feature_dropout(f[unsup]) for f in x]
            cross(self._decode(x_fp, size), y1, y2, 'loss_fp')
        if cfg.copy_paste is not None and labelled:
            self._copy_paste(losses, weak, data_samples, labelled, unsup,
                             (y1, y2), weight, cross)
        return losses

    def _copy_paste(self, losses: Dict[str, torch.Tensor],
                    weak: torch.Tensor, data_samples: List[SegDataSample],
                    labelled: List[int], unsup: List[int],
                    pseudo: Tuple[torch.Tensor, torch.Tensor], weight: float,
                    cross) -> None:
        """Bidirectional copy-paste (BCP) between labelled and pseudo-labelled
        samples; the mixed targets use each stream's pseudo-label for the
        other stream."""
        cp = self.semi_train_cfg.copy_paste
        n = min(len(labelled), len(unsup))
        size = weak.shape[2:]
        a, u = weak[labelled[:n]], weak[unsup[:n]]
        gt = torch.stack([
            data_samples[i].gt_sem_seg.data[0] for i in labelled[:n]
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
        z = self._decode(self.extract_feat(torch.cat([x_in, x_out])), size)
        cross(z, targets[0], targets[1], 'loss_bcp')
