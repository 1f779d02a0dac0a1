"""BCP (Bai et al., CVPR 2023) as its authors train it, on the semi base.

Bidirectional Copy-Paste, DeepMed-Lab-ECNU/BCP ``code/ACDC_BCP_train.py``:
a labelled copy-paste phase (``pre_train``) whose best checkpoint starts
student and EMA teacher of a self-training phase (``self_train``) in which
the mixed loss is the only loss. The pure parts (``BCPMixedLoss``,
``largest_component_per_class``, ``bcp_box_mask``) are in
:mod:`ideal_mm.models.losses.comparator_losses`; this module only wires them
into :class:`SemiSupervisedSegmentor`'s template methods, because no mmseg
or mmengine model mixes labelled and unlabelled slices this way.
:func:`ideal_mm.engine.best_checkpoint.find_best_checkpoint` hands phase 1's
best checkpoint to phase 2 without its iteration number.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ...errors import ConfigError
from ..losses import box_masks
from ..losses.bcp_mix_loss import BCPMixedLoss, largest_component_per_class
from .pseudo_labelling import padding_mask
from .semi_base import SemiBatch, SemiSupervisedSegmentor

PHASES = ('labelled', 'self_train')


@MODELS.register_module()
class BCPSemiSupModel(SemiSupervisedSegmentor):
    """Bidirectional Copy-Paste: one student, an EMA teacher, one box.

    ``semi_train_cfg.phase='labelled'`` (``pre_train``, BCP 193-302): the
    labelled slices are split into halves ``a``, ``b``; one box ``B``
    (``int(2H/3) x int(2W/3)``, :func:`bcp_box_mask`) per batch; the
    student sees ``x = b in B, a outside`` and::

        sup.loss_bcp_mix = BCPMixedLoss(u_weight=1)(student(x), y, B)

    (``(dice + ce) / 2`` of BCP line 251); unlabelled slices are ignored.

    ``phase='self_train'`` (``self_train``, 304-443): labelled halves
    ``a, b``, unlabelled halves ``ua, ub`` (equal sizes); the teacher (EMA
    of the student, ``ema_momentum`` 0.01 = BCP's 0.99, parameters and BN
    buffers) labels ``ua`` and ``ub`` under ``no_grad`` in train mode (BCP
    344), one forward each: argmax, then the largest connected component
    per class, no confidence threshold. With one box ``B``::

        x_unl = a in B, ua outside    y_unl = lab_a in B, plab_a outside
        x_l   = ub in B, b outside    y_l   = plab_b in B, lab_b outside
        unsup.loss_mix_unl = mix(student(x_unl), y_unl, B, pseudo out)
        unsup.loss_mix_l   = mix(student(x_l), y_l, B, pseudo in B)

    with ``mix = BCPMixedLoss(u_weight=0.5)``: each region's Dice + CE
    normalised by its own area, the pseudo-labelled region weighted 0.5;
    their sum is BCP's loss (380-383), the only loss (no plain supervised
    term). Two student forwards (separate BN batches, as BCP 374-375).
    Pseudo-labels on batch padding are ignored (BCP has no padding).

    Phase 2 starts student and teacher from phase 1's best checkpoint:
    ``segmentor.init_cfg=dict(type='Pretrained', checkpoint=...,
    prefix='student.')``; the base's ``init_weights`` copies the student into
    the teacher. Prediction uses the student (BCP tests the student).

    Args:
        segmentor: the student (an mmseg ``EncoderDecoder`` config).
        semi_train_cfg: ``phase`` ('labelled' | 'self_train'),
            ``ema_momentum`` (0.01; None in phase 'labelled'), ``u_weight``
            (0.5), ``largest_component`` (True), ``teacher_train_mode``
            (True), ``unsup_on`` ('unlabelled' only).
        semi_test_cfg, data_preprocessor, init_cfg: see the base.
    """

    DEFAULT_SEMI_TRAIN_CFG = dict(
        phase='self_train',
        ema_momentum=0.01,
        u_weight=0.5,
        largest_component=True,
        teacher_train_mode=True)

    def __init__(self, segmentor: dict, **kwargs) -> None:
        super().__init__(segmentor, **kwargs)
        cfg = self.semi_train_cfg
        self.mix_loss = BCPMixedLoss(
            u_weight=1.0 if cfg.phase == 'labelled' else cfg.u_weight,
            ignore_index=self.ignore_index)

    def check_semi_train_cfg(self, cfg: dict) -> None:
        """BCP's options: phase, teacher, no ramp, no self-pasting."""
        key = 'model.semi_train_cfg'
        if cfg['phase'] not in PHASES:
            raise ConfigError(f'{key}.phase must be one of {PHASES}, got '
                              f'{cfg["phase"]!r}')
        if cfg['unsup_on'] == 'all':
            raise ConfigError(
                f"{key}.unsup_on='all' would paste labelled slices into "
                "themselves; BCP pairs labelled with unlabelled slices: set "
                f"{key}.unsup_on='unlabelled'")
        if cfg['phase'] == 'labelled' and cfg['ema_momentum'] is not None:
            raise ConfigError(
                f"{key}.ema_momentum must be None in phase 'labelled' (BCP's "
                'labelled copy-paste phase has no teacher)')
        if cfg['phase'] == 'self_train' and cfg['ema_momentum'] is None:
            raise ConfigError(
                f"{key}.ema_momentum is required in phase 'self_train' (BCP:"
                ' 0.01, i.e. teacher = 0.99 teacher + 0.01 student)')
        if float(cfg['rampup_iters']) != 0 or \
                float(cfg['max_consistency_weight']) != 1:
            raise ConfigError(
                f'{key}: BCP has no consistency ramp; set rampup_iters=0 '
                'and max_consistency_weight=1.0 (the region weight is '
                'u_weight)')
        if not float(cfg['u_weight']) >= 0:
            raise ConfigError(f'{key}.u_weight must be >= 0, got '
                              f'{cfg["u_weight"]!r}')

    # ---- training --------------------------------------------------------
    def forward_train(self,
                      weak: torch.Tensor) -> Tuple[List[torch.Tensor], Tuple]:
        """Nothing: BCP's student sees only mixed images (a plain forward
        would also move its BN running statistics)."""
        return [], ()

    def student_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """The student's logits at the input size."""
        z = self.student.decode_head.forward(self.student.extract_feat(inputs))
        return resize(
            z,
            size=inputs.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)

    @staticmethod
    def _halves(idx: Sequence[int], what: str) -> Tuple[List[int], List[int]]:
        n = len(idx)
        if n < 2 or n % 2:
            raise ValueError(
                f'BCPSemiSupModel: {n} {what} slices in the batch; BCP '
                'splits them into two equal halves: give an even number >= '
                '2 (train_dataloader.sampler.source_ratio / batch_size)')
        return list(idx[:n // 2]), list(idx[n // 2:])

    def _labels(self, batch: SemiBatch, idx: Sequence[int]) -> torch.Tensor:
        return torch.stack(
            [batch.data_samples[i].gt_sem_seg.data[0] for i in idx]).long()

    def _box(self, batch: SemiBatch) -> torch.Tensor:
        h, w = batch.size
        return box_masks.bcp_box_mask(h, w, device=batch.weak.device)

    def loss_by_gt(self, batch: SemiBatch) -> Dict[str, torch.Tensor]:
        """Phase 'labelled': the copy-paste loss of the labelled halves;
        phase 'self_train': nothing (the mixed loss is the only loss)."""
        if self.semi_train_cfg.phase != 'labelled':
            return {}
        a, b = self._halves(batch.labelled, 'labelled')
        box = self._box(batch)
        x = torch.where(box, batch.weak[b], batch.weak[a])
        y = torch.where(box, self._labels(batch, b), self._labels(batch, a))
        return {
            'sup.loss_bcp_mix': self.mix_loss(self.student_logits(x), y, box)
        }

    @torch.no_grad()
    def teacher_labels(self, inputs: torch.Tensor) -> torch.Tensor:
        """The teacher's argmax (largest component per class when
        ``largest_component``), one forward (BCP ``get_ACDC_masks``)."""
        teacher = self.teacher.module
        was = teacher.training
        teacher.train(bool(self.semi_train_cfg.teacher_train_mode))
        try:
            z = teacher.decode_head.forward(teacher.extract_feat(inputs))
        finally:
            teacher.train(was)
        z = resize(
            z,
            size=inputs.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)
        plab = z.softmax(dim=1).argmax(dim=1)
        if self.semi_train_cfg.largest_component:
            plab = largest_component_per_class(plab, self.num_classes)
        return plab

    @torch.no_grad()
    def get_pseudo_labels(
            self, batch: SemiBatch,
            losses: dict) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
        """Phase 'self_train': the teacher's labels of the unlabelled
        halves (ignore label on batch padding); logs ``unsup.fg``, the
        foreground share of the pseudo-labels."""
        if self.semi_train_cfg.phase != 'self_train' or not batch.unsup:
            return None
        ua, ub = self._halves(batch.unsup, 'unlabelled')
        out = []
        for idx in (ua, ub):
            plab = self.teacher_labels(batch.weak[idx])
            valid = padding_mask(batch.data_samples, idx, batch.size,
                                 plab.device)
            out.append(plab.masked_fill(~valid, self.ignore_index))
        both = torch.cat(out)
        known = both != self.ignore_index
        losses['unsup.fg'] = ((both > 0) & known).sum() / \
            known.sum().clamp(min=1)
        return out[0], out[1]

    def loss_by_pseudo(
        self, batch: SemiBatch, pseudo: Optional[Tuple[torch.Tensor,
                                                       torch.Tensor]]
    ) -> Dict[str, torch.Tensor]:
        """Phase 'self_train': the two mixed losses (BCP 372-383)."""
        if pseudo is None:
            return {}
        a, b = self._halves(batch.labelled, 'labelled')
        ua, ub = self._halves(batch.unsup, 'unlabelled')
        if len(a) != len(ua):
            raise ValueError(
                f'BCPSemiSupModel: {2 * len(a)} labelled and {2 * len(ua)} '
                'unlabelled slices in the batch; BCP pairs them one to one: '
                'set train_dataloader.sampler.source_ratio to equal parts')
        plab_a, plab_b = pseudo
        box = self._box(batch)
        img = batch.weak
        x_unl = torch.where(box, img[a], img[ua])
        y_unl = torch.where(box, self._labels(batch, a), plab_a)
        x_l = torch.where(box, img[ub], img[b])
        y_l = torch.where(box, plab_b, self._labels(batch, b))
        z_unl = self.student_logits(x_unl)
        z_l = self.student_logits(x_l)
        return {
            'unsup.loss_mix_unl':
            self.mix_loss(z_unl, y_unl, box, pseudo_in_box=False),
            'unsup.loss_mix_l':
            self.mix_loss(z_l, y_l, box, pseudo_in_box=True),
        }
