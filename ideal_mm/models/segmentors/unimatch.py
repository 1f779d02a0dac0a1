"""UniMatch as published (Yang et al., CVPR 2023), medical scenario.

One step of LiheYoung/UniMatch, more-scenarios/medical/unimatch.py (line
numbers of that file)::

    # 129-134: the CutMix partner's label, predicted in eval mode
    z_mix = f_eval(w[mix]);  y_mix, c_mix = argmax, max softmax(z_mix)
    # 141-149: one train-mode pass on [x; w[u]], the decoder on the
    # features and on Dropout2d(0.5) of them (every level) together
    z_x, z_w = f(x), f(w[u]);  z_fp = dec(drop(enc(w[u])))
    y, c = argmax, max softmax(z_w.detach())              # 151-153
    # 136-139, 155-162: strong view k of u takes the partner's strong
    # view k inside box_k, targets alike
    s_k = where(box_k, s_k[mix], s_k[u]);  y_k, c_k = where(box_k, ...)
    z_s1, z_s2 = f([s_1; s_2])                            # 141-149
    # 164-175
    Lx = (CE(z_x, gt) + Dice(z_x, gt)) / 2
    L  = (Lx + 0.25 Dice(z_s1, y_1 | c_1 >= 0.95)
             + 0.25 Dice(z_s2, y_2 | c_2 >= 0.95)
             + 0.5 Dice(z_fp, y | c >= 0.95)) / 2

``Dice`` is ``ClassDiceLoss(eps=1e-5)`` (== UniMatch's ``util/utils.py``
``DiceLoss``, tests/test_comparator_losses.py) with unconfident pixels
ignored. The decode head's ``loss_decode`` carries ``Lx / 2`` (CE and Dice
at weight 0.25 each); ``semi_train_cfg.loss_weights`` the three unlabelled
weights already halved (0.125, 0.125, 0.25), times ``w(t)`` (no ramp by
default: ``rampup_iters=0``, ``max_consistency_weight=1``).

Arrangement of the data (documented difference): UniMatch draws the partners
from a second, independently shuffled unlabelled loader. Here one
``SemiSupMultiSourceSampler`` batch holds the labelled slices and twice the
unlabelled ones; the first half of the unlabelled slices is ``u``, the
second half the partners, so a partner is never the slice itself within a
step. Strong views come from ``UniMatchStrongViews`` (ColorJitter-like
brightness/contrast p 0.8, blur sigma U(0.1, 2) p 0.5); boxes from
:func:`~ideal_mm.models.losses.box_masks.unimatch_cutmix_boxes` (p 0.5, area
2-40 %, aspect 0.3-3.3, one per strong view of each ``u`` slice), drawn here
rather than in the loader.

The existing :class:`SemiSupervisedSegmentor` loop decodes every weak view
in train mode in one pass, partners included; UniMatch keeps the partners
out of that pass (they change the batch-norm statistics), so ``loss`` is
written here. The parts are the base's (student, ``loss_by_gt``, ``w(t)``)
and ``box_masks``' sampler.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ...errors import ConfigError
from ..losses.box_masks import unimatch_cutmix_boxes
from .pseudo_labelling import padding_mask
from .semi_base import SemiBatch, SemiSupervisedSegmentor, split_labelled

#: UniMatch's box sampler settings (``obtain_cutmix_box``)
CUTMIX_DEFAULTS = dict(
    p=0.5, area_range=(0.02, 0.4), aspect_range=(0.3, 1 / 0.3))
LOSS_KEYS = ('s1', 's2', 'fp')


@MODELS.register_module()
class UniMatchSemiSupModel(SemiSupervisedSegmentor):
    """UniMatch (medical) as published; the module docstring has the step.

    The batch: labelled slices (``gt_sem_seg``) and ``2 m`` unlabelled ones
    (first ``m``: ``u``, last ``m``: their CutMix partners), each packed by
    ``UniMatchStrongViews(num_strong=2)`` as [weak, strong_1, strong_2].

    Args:
        segmentor: the student (an mmseg ``EncoderDecoder`` config); its
            decode head's ``loss_decode`` is the labelled loss (UniMatch:
            CE and ``ClassDiceLoss(eps=1e-5)``, 0.25 each).
        semi_train_cfg: ``conf_threshold`` (0.95), ``loss_weights``
            (``dict(s1=0.125, s2=0.125, fp=0.25)``), ``unsup_loss``
            (``ClassDiceLoss(eps=1e-5)``), ``fp_dropout`` (0.5),
            ``cutmix`` (``CUTMIX_DEFAULTS``), and the base's
            ``rampup_iters`` (0), ``max_consistency_weight`` (1),
            ``unsup_on`` (only 'unlabelled').
        semi_test_cfg, data_preprocessor, init_cfg: see the base.
    """

    DEFAULT_SEMI_TRAIN_CFG = dict(
        rampup_iters=0,
        max_consistency_weight=1.0,
        unsup_on='unlabelled',
        conf_threshold=0.95,
        fp_dropout=0.5,
        loss_weights=dict(s1=0.125, s2=0.125, fp=0.25),
        unsup_loss=dict(type='ClassDiceLoss', eps=1e-5),
        cutmix=CUTMIX_DEFAULTS)

    def __init__(self,
                 segmentor: dict,
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(segmentor, semi_train_cfg, semi_test_cfg,
                         data_preprocessor, init_cfg)
        cfg = self.semi_train_cfg
        self.unsup_loss = MODELS.build(cfg.unsup_loss)
        self.fp_dropout = nn.Dropout2d(float(cfg.fp_dropout))

    def check_semi_train_cfg(self, cfg: dict) -> None:
        """Refuse values the published step cannot take."""
        key = 'model.semi_train_cfg'
        if cfg['unsup_on'] != 'unlabelled':
            raise ConfigError(
                f"{key}.unsup_on must be 'unlabelled' for "
                'UniMatchSemiSupModel: with \'all\' labelled slices would '
                'be pasted into themselves and the partner half would hold '
                'labelled slices')
        thr = cfg['conf_threshold']
        if not isinstance(thr, (int, float)) or not 0.0 <= thr < 1.0:
            raise ConfigError(f'{key}.conf_threshold must be in [0, 1), '
                              f'got {thr!r}')
        if not 0.0 <= float(cfg['fp_dropout']) < 1.0:
            raise ConfigError(f'{key}.fp_dropout must be in [0, 1), got '
                              f'{cfg["fp_dropout"]!r}')
        weights = cfg['loss_weights']
        if not isinstance(weights, dict) or set(weights) != set(LOSS_KEYS) \
                or any(float(v) < 0 for v in weights.values()):
            raise ConfigError(
                f'{key}.loss_weights must be a dict with the keys '
                f'{LOSS_KEYS} and weights >= 0, got {weights!r}')
        unknown = set(cfg['cutmix']) - set(CUTMIX_DEFAULTS)
        if unknown:
            raise ConfigError(
                f'{key}.cutmix: unknown keys {sorted(unknown)}; valid: '
                f'{sorted(CUTMIX_DEFAULTS)}')

    # ---- the step ---------------------------------------------------------
    def split_views(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """(B, 3 C, H, W) -> [weak, strong_1, strong_2]."""
        if inputs.shape[1] % 3:
            raise ConfigError(
                'UniMatchSemiSupModel needs a weak and two strong views '
                f'(3 channel groups), got {inputs.shape[1]} channels: add '
                "dict(type='UniMatchStrongViews', num_strong=2) to the "
                'train pipeline before the packing transform')
        return list(inputs.chunk(3, dim=1))

    def _logits(self, feats: Sequence[torch.Tensor],
                size: Tuple[int, int]) -> torch.Tensor:
        """The student head's logits of ``feats`` at the input size."""
        head = self.student.decode_head
        return resize(
            head.forward(feats),
            size=size,
            mode='bilinear',
            align_corners=head.align_corners)

    @torch.no_grad()
    def predict_partners(
            self, weak: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(confidence, label) of the partners' weak views, the student in
        eval mode (unimatch.py 129-134), its mode restored after."""
        was_training = self.student.training
        self.student.eval()
        try:
            z = self._logits(
                self.student.extract_feat(weak), tuple(weak.shape[2:]))
        finally:
            self.student.train(was_training)
        conf, label = z.softmax(dim=1).max(dim=1)
        return conf, label

    def loss(self, inputs: torch.Tensor,
             data_samples: List[SegDataSample]) -> Dict[str, torch.Tensor]:
        """The published step (module docstring): ``sup.*`` from the
        decode head, ``unsup.loss_{s1,s2,fp}`` and ``unsup.kept`` (share
        of confident ``u`` pixels)."""
        lab, unl = split_labelled(data_samples)
        m = len(unl) // 2
        u, mix = unl[:m], unl[m:2 * m]
        weak, s1, s2 = self.split_views(inputs)
        size, device = tuple(weak.shape[2:]), weak.device
        weight = self.consistency_weight()
        if m:
            conf_mix, y_mix = self.predict_partners(weak[mix])
        # one train-mode pass on [x; w[u]]; the decoder on the features and
        # their dropped copies together (unet.py forward(need_fp=True))
        idx = lab + u
        feats = self.student.extract_feat(weak[idx])
        if m:
            feats = [torch.cat([f, self.fp_dropout(f)]) for f in feats]
        z_all = self.student.decode_head.forward(feats)
        z, z_fp = (z_all.chunk(2) if m else (z_all, None))
        n = len(lab)
        batch = SemiBatch([weak[idx], s1[idx], s2[idx]],
                          [data_samples[i] for i in idx], list(range(n)),
                          list(range(n, len(idx))), weight,
                          [f[:len(idx)] for f in feats], (z, ))
        losses = self.loss_by_gt(batch)
        losses['unsup.weight'] = torch.tensor(weight, device=device)
        if not m:
            return losses
        with torch.no_grad():
            conf, y = resize(
                z[n:].detach(),
                size=size,
                mode='bilinear',
                align_corners=self.align_corners).softmax(dim=1).max(dim=1)
        valid = padding_mask(data_samples, u, size, device)
        valid_mix = padding_mask(data_samples, mix, size, device)
        cut = dict(CUTMIX_DEFAULTS, **self.semi_train_cfg.cutmix)
        boxes = [
            unimatch_cutmix_boxes(m, size[0], size[1], device=device, **cut)
            for _ in range(2)
        ]
        thr = float(self.semi_train_cfg.conf_threshold)
        mixed, targets = [], []
        for s, box in zip((s1, s2), boxes):
            mixed.append(torch.where(box[:, None], s[mix], s[u]))
            y_k = torch.where(box, y_mix, y)
            keep = torch.where(box, (conf_mix >= thr) & valid_mix,
                               (conf >= thr) & valid)
            targets.append(torch.where(keep, y_k, self.ignore_index))
        y_fp = torch.where((conf >= thr) & valid, y, self.ignore_index)
        z_s = self._logits(self.student.extract_feat(torch.cat(mixed)),
                           size).chunk(2)
        w = self.semi_train_cfg.loss_weights
        preds = dict(
            s1=z_s[0],
            s2=z_s[1],
            fp=resize(
                z_fp[n:],
                size=size,
                mode='bilinear',
                align_corners=self.align_corners))
        for key, target in zip(LOSS_KEYS, targets + [y_fp]):
            losses[f'unsup.loss_{key}'] = weight * float(w[key]) * \
                self.unsup_loss(preds[key], target,
                                ignore_index=self.ignore_index)
        losses['unsup.kept'] = (y_fp != self.ignore_index).float().mean()
        return losses
