"""IDEAL stage 2: one shared encoder, two decoders, bidirectional consistency."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.models.segmentors.encoder_decoder import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import add_prefix

from ...errors import ConfigError
from .ramps import consistency_weight, current_train_iter

PREDICT_ON = ('s1', 's2', 'mean')
UNSUP_ON = ('unlabelled', 'all')
DEFAULT_SEMI_TRAIN_CFG = dict(
    rampup_iters=0,
    max_consistency_weight=1.0,
    conf_threshold=None,
    unsup_on='unlabelled',
    unsup_loss=dict(
        type='CrossEntropyLoss',
        use_sigmoid=False,
        loss_weight=1.0,
        avg_non_ignore=True,
        loss_name='loss_cps'),
)


def split_labelled(data_samples: Sequence[SegDataSample]
                   ) -> Tuple[List[int], List[int]]:
    """Indices of samples with ``gt_sem_seg`` (labelled) and without."""
    labelled, unlabelled = [], []
    for i, sample in enumerate(data_samples):
        (labelled if 'gt_sem_seg' in sample else unlabelled).append(i)
    return labelled, unlabelled


def padding_mask(data_samples: Sequence[SegDataSample], idx: Sequence[int],
                 size: Tuple[int, int], device: torch.device) -> torch.Tensor:
    """Boolean (len(idx), H, W): True on pixels that are not batch padding.

    ``SegDataPreProcessor`` pads images to a common size and records
    ``padding_size = (left, right, top, bottom)``; pseudo-labels on padding
    would teach the decoders the padding value, so it is ignored.
    """
    h, w = size
    mask = torch.ones((len(idx), h, w), dtype=torch.bool, device=device)
    for row, i in enumerate(idx):
        left, right, top, bottom = data_samples[i].metainfo.get(
            'padding_size', (0, 0, 0, 0))
        if right:
            mask[row, :, w - right:] = False
        if bottom:
            mask[row, h - bottom:, :] = False
        if left:
            mask[row, :, :left] = False
        if top:
            mask[row, :top, :] = False
    return mask


def pseudo_labels(logits: torch.Tensor, conf_threshold: Optional[float],
                  ignore_index: int,
                  valid: Optional[torch.Tensor] = None
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Hard pseudo-labels ``y = argmax softmax(logits)`` without gradient.

    Pixels whose maximum probability is below ``conf_threshold`` (if given)
    or where ``valid`` is False are set to ``ignore_index``.

    Returns:
        (labels (N, H, W) long, kept (N, H, W) bool).
    """
    with torch.no_grad():
        prob = logits.detach().float().softmax(dim=1)
        conf, labels = prob.max(dim=1)
        kept = torch.ones_like(labels, dtype=torch.bool)
        if conf_threshold is not None:
            kept &= conf >= conf_threshold
        if valid is not None:
            kept &= valid
        labels = torch.where(kept, labels, torch.full_like(labels,
                                                           ignore_index))
    return labels, kept


@MODELS.register_module()
class BiConsistencySemiSupModel(BaseSegmentor):
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
            ``unsup_loss`` (loss config for the pseudo-label term).
            Supervised loss weights are the heads' ``loss_decode`` weights.
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

        cfg = dict(DEFAULT_SEMI_TRAIN_CFG)
        unknown = set(semi_train_cfg or {}) - set(cfg)
        if unknown:
            raise ConfigError(
                f'unknown model.semi_train_cfg keys {sorted(unknown)}; '
                f'valid keys: {sorted(cfg)}')
        cfg.update(semi_train_cfg or {})
        if cfg['unsup_on'] not in UNSUP_ON:
            raise ConfigError(f'model.semi_train_cfg.unsup_on must be one of '
                              f'{UNSUP_ON}, got {cfg["unsup_on"]!r}')
        thr = cfg['conf_threshold']
        if thr is not None and not 0.0 <= float(thr) < 1.0:
            raise ConfigError('model.semi_train_cfg.conf_threshold must be '
                              f'None or in [0, 1), got {thr!r}')
        if float(cfg['rampup_iters']) < 0 or \
                float(cfg['max_consistency_weight']) < 0:
            raise ConfigError(
                'model.semi_train_cfg.rampup_iters and max_consistency_weight'
                ' must be >= 0')
        self.semi_train_cfg = ConfigDict(cfg)
        self.unsup_loss = MODELS.build(cfg['unsup_loss'])

        test = dict(predict_on='s1')
        test.update(semi_test_cfg or {})
        if test['predict_on'] not in PREDICT_ON:
            raise ConfigError(
                f'model.semi_test_cfg.predict_on must be one of {PREDICT_ON},'
                f' got {test["predict_on"]!r}')
        self.semi_test_cfg = ConfigDict(test)
        self.train_cfg = train_cfg
        self.test_cfg = ConfigDict(test_cfg or dict(mode='whole'))

    # mmseg's EncoderDecoder already implements these on the attributes this
    # class shares with it (backbone, neck, auxiliary_head, test_cfg,
    # out_channels, encode_decode): reuse instead of copying.
    _init_auxiliary_head = EncoderDecoder._init_auxiliary_head
    _auxiliary_head_forward_train = \
        EncoderDecoder._auxiliary_head_forward_train
    extract_feat = EncoderDecoder.extract_feat
    inference = EncoderDecoder.inference
    whole_inference = EncoderDecoder.whole_inference
    slide_inference = EncoderDecoder.slide_inference

    @property
    def decode_head(self) -> nn.Module:
        """The head that ``predict_on`` uses (stream 2 for 's2', else 1).

        mmseg code reads ``model.decode_head`` (e.g. ``threshold``,
        ``num_classes``); this is not a third module.
        """
        return self.decode_head_2 if self.semi_test_cfg.predict_on == 's2' \
            else self.decode_head_1

    def consistency_weight(self, cur_iter: Optional[int] = None) -> float:
        """``w(t) = lambda * exp(-5 (1 - min(t, T)/T)^2)`` at iteration t.

        ``cur_iter`` defaults to the runner's iteration from the MessageHub.
        """
        t = current_train_iter() if cur_iter is None else cur_iter
        return consistency_weight(t, self.semi_train_cfg.max_consistency_weight,
                                  self.semi_train_cfg.rampup_iters)

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

    def predict(self,
                inputs: torch.Tensor,
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

    def loss(self, inputs: torch.Tensor,
             data_samples: List[SegDataSample]) -> Dict[str, torch.Tensor]:
        """Supervised losses of both streams plus the weighted CPS terms."""
        lab, unl = split_labelled(data_samples)
        x = self.extract_feat(inputs)
        logits = (self.decode_head_1.forward(x),
                  self.decode_head_2.forward(x))
        heads = (self.decode_head_1, self.decode_head_2)
        losses: Dict[str, torch.Tensor] = {}

        if lab:
            lab_samples = [data_samples[i] for i in lab]
            for k, (head, z) in enumerate(zip(heads, logits), start=1):
                sup = head.loss_by_feat(z[lab], lab_samples)
                losses.update(add_prefix(sup, f'sup.s{k}'))
            if self.with_auxiliary_head:
                lab_feats = [f[lab] for f in x]
                losses.update(
                    add_prefix(
                        self._auxiliary_head_forward_train(
                            lab_feats, lab_samples), 'sup'))
        else:
            # Keep both decoders in the graph (DDP) with a zero loss.
            losses['sup.loss_none'] = sum(z.sum() for z in logits) * 0.0

        weight = self.consistency_weight()
        device = inputs.device
        losses['unsup.weight'] = torch.tensor(weight, device=device)
        idx = unl if self.semi_train_cfg.unsup_on == 'unlabelled' \
            else list(range(len(data_samples)))
        if not idx:
            return losses

        size = inputs.shape[2:]
        z1, z2 = (resize(z[idx], size=size, mode='bilinear',
                         align_corners=head.align_corners)
                  for z, head in zip(logits, heads))
        valid = padding_mask(data_samples, idx, size, device)
        thr = self.semi_train_cfg.conf_threshold
        y1, kept1 = pseudo_labels(z1, thr, self.ignore_index, valid)
        y2, kept2 = pseudo_labels(z2, thr, self.ignore_index, valid)
        losses['unsup.s2.loss_cps'] = weight * self.unsup_loss(
            z2, y1, ignore_index=self.ignore_index)
        losses['unsup.s1.loss_cps'] = weight * self.unsup_loss(
            z1, y2, ignore_index=self.ignore_index)
        losses['unsup.s2.kept'] = kept1.float().mean()
        losses['unsup.s1.kept'] = kept2.float().mean()
        return losses
