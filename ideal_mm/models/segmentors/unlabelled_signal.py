"""What a pseudo-labelling segmentor needs, shared by the two-stream IDEAL
model
and the single-stream UniMatch-style baseline.

:class:`UnlabelledSignalMixin`: the pseudo-label options (``conf_threshold``,
``unsup_loss``) and their checks, the pseudo-label filters
(:mod:`.pseudo_label_filters`, ``pseudo_label_filters``), every
stream's confident weak-view pseudo-labels
(:meth:`~UnlabelledSignalMixin.get_pseudo_labels`, from
:mod:`.pseudo_labelling`) after the filters, the logged
diagnostics (``kept``, ``fg``, ``agree``, ``oracle.*``), and the
unlabelled-data branches (:mod:`.unsup_branches`) composed in the config as
``unsup_branches``, which :meth:`~UnlabelledSignalMixin.loss_by_pseudo` runs.

mmseg has no semi-supervised segmentation part to reuse (its segmentors are
supervised) and mmdet's semi-supervised detectors work on boxes, so this is
written here once, for every segmentor that learns from pseudo-labels.
"""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ...errors import ConfigError
from .dist_align import DistributionAlignment  # noqa: F401 (registers)
from .pseudo_label_filters import PseudoLabelFilter
from .pseudo_labelling import padding_mask, pseudo_labels
from .unsup_branches import UnsupBranch

SIGNAL_DEFAULTS = dict(
    conf_threshold=None,
    unsup_loss=dict(
        type='CrossEntropyLoss',
        use_sigmoid=False,
        loss_weight=1.0,
        avg_non_ignore=True,
        loss_name='loss_cps'),
)


class PseudoLabels(NamedTuple):
    """Each stream's weak-view pseudo-labels of the ``unsup`` samples.

    ``z_weak``: each stream's logits resized to the input; ``valid``: not
    padding; ``labels`` (ignored pixels = ``ignore_index``) and ``kept``
    (confident and valid) per stream.
    """
    z_weak: Tuple[torch.Tensor, ...]
    valid: torch.Tensor
    labels: List[torch.Tensor]
    kept: List[torch.Tensor]


class UnlabelledSignalMixin:
    """Options and helpers of segmentors that learn from pseudo-labels.

    A subclass of :class:`SemiSupervisedSegmentor` mixes this in, adds
    ``SIGNAL_DEFAULTS`` to its ``DEFAULT_SEMI_TRAIN_CFG``, calls
    :meth:`check_signal_cfg` from ``check_semi_train_cfg`` and
    :meth:`build_signal` with its ``unsup_branches`` once its heads exist
    (it needs ``ignore_index``).
    Its :meth:`get_pseudo_labels` gives every stream's confident weak-view
    labels (:class:`PseudoLabels`) and logs their diagnostics.
    """

    ignore_index: int
    num_classes: int
    semi_train_cfg: dict

    # ---- config ---------------------------------------------------------
    @staticmethod
    def check_signal_cfg(cfg: dict) -> None:
        """Check the shared option values."""
        thr = cfg['conf_threshold']
        if thr is not None and not 0.0 <= float(thr) < 1.0:
            raise ConfigError('model.semi_train_cfg.conf_threshold must be '
                              f'None or in [0, 1), got {thr!r}')

    def build_signal(
            self,
            num_streams: int,
            unsup_branches: Sequence[dict],
            pseudo_label_filters: Optional[Sequence[dict]] = None) -> None:
        """Build ``unsup_losses``, the pseudo-label filters and the
        unlabelled-data branches."""
        cfg = self.semi_train_cfg
        unsup_loss = cfg['unsup_loss']
        self.unsup_losses = nn.ModuleList(
            MODELS.build(c)
            for c in (unsup_loss if isinstance(unsup_loss, (
                list, tuple)) else [unsup_loss]))
        filters = pseudo_label_filters or []
        if not isinstance(filters, (list, tuple)):
            raise ConfigError('model.pseudo_label_filters must be a list of '
                              f'filter configs, got {filters!r}')
        for f in filters:
            cls = MODELS.get(f.get('type')) if isinstance(f, dict) else None
            if not (isinstance(cls, type)
                    and issubclass(cls, PseudoLabelFilter)):
                raise ConfigError(
                    f'model.pseudo_label_filters: {f!r} is not a pseudo-'
                    'label filter (see ideal_mm/models/segmentors/'
                    'pseudo_label_filters.py)')
        self.pseudo_label_filters = nn.ModuleList(
            MODELS.build(
                f,
                default_args=dict(
                    num_classes=self.out_channels, num_streams=num_streams))
            for f in filters)
        for f in self.pseudo_label_filters:
            if f.class_portion is not None and cfg.conf_threshold is None:
                raise ConfigError(
                    f'model.pseudo_label_filters: {type(f).__name__} lowers '
                    'conf_threshold per class: set '
                    'model.semi_train_cfg.conf_threshold too')
        if not isinstance(unsup_branches, (list, tuple)):
            raise ConfigError('model.unsup_branches must be a list of branch '
                              f'configs, got {unsup_branches!r}')
        self.unsup_branches = nn.ModuleList(
            MODELS.build(b) for b in unsup_branches)
        for branch in self.unsup_branches:
            if not isinstance(branch, UnsupBranch):
                raise ConfigError(
                    f'model.unsup_branches: {type(branch).__name__} is not '
                    'an unlabelled-data branch (see ideal_mm/models/'
                    'segmentors/unsup_branches.py)')
            if branch.needs_unlabelled_only and cfg.unsup_on == 'all':
                raise ConfigError(
                    f'model.unsup_branches: {type(branch).__name__} needs '
                    "model.semi_train_cfg.unsup_on='unlabelled': with 'all' "
                    'labelled slices would be pasted into themselves')

    # ---- losses and views ----------------------------------------------
    def unsup_loss(self, logits: torch.Tensor,
                   target: torch.Tensor) -> torch.Tensor:
        """Sum of the ``unsup_loss`` terms (one config or a list) of logits
        against a pseudo-label map (ignored pixels = ``ignore_index``)."""
        return sum(
            loss(logits, target, ignore_index=self.ignore_index)
            for loss in self.unsup_losses)

    def split_views(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """(B, C * (1 + strong views), H, W) -> [weak, strong_1, ...]; the
        branches' ``num_views`` say how many strong views there are."""
        n = 1 + sum(b.num_views for b in self.unsup_branches)
        if n == 1:
            return [inputs]
        if inputs.shape[1] % n:
            raise ConfigError(
                f'model.unsup_branches read {n - 1} strong views, so the '
                f'inputs need {n} channel groups (weak + strong views), got '
                f'{inputs.shape[1]} channels: add '
                f"dict(type='WeakStrongViews', num_strong={n - 1}) to the "
                'train pipeline before the packing transform')
        return list(inputs.chunk(n, dim=1))

    def decode_streams(self, feats: Sequence[torch.Tensor],
                       size: Tuple[int, int]) -> Tuple[torch.Tensor, ...]:
        """Every stream's logits of ``feats``, resized to ``size``."""
        return tuple(
            resize(
                head.forward(feats),
                size=size,
                mode='bilinear',
                align_corners=head.align_corners)
            for head in self.stream_heads())

    def pseudo_label_losses(self, z: Sequence[torch.Tensor],
                            labels: Sequence[torch.Tensor], name: str,
                            weight: float) -> Dict[str, torch.Tensor]:
        """``w * unsup_loss`` of each stream's logits against its teacher's
        pseudo-labels: its own with one stream (``unsup.<name>``), the other
        stream's with two (``unsup.s{k}.<name>``, stream k learning)."""
        n = len(z)
        if n == 1:
            return {f'unsup.{name}': weight * self.unsup_loss(z[0], labels[0])}
        return {
            f'unsup.s{k + 1}.{name}':
            weight * self.unsup_loss(z[k], labels[(k + 1) % n])
            for k in reversed(range(n))
        }

    def loss_by_pseudo(self, batch,
                       pseudo: 'PseudoLabels') -> Dict[str, torch.Tensor]:
        """The terms of every branch in ``unsup_branches``, in order (each
        branch reads its own strong views)."""
        losses: Dict[str, torch.Tensor] = {}
        first = 1
        for branch in self.unsup_branches:
            views = batch.views[first:first + branch.num_views]
            first += branch.num_views
            losses.update(branch(self, batch, pseudo, views))
        return losses

    # ---- pseudo-labels and diagnostics ---------------------------------
    def get_pseudo_labels(
            self, batch, losses: Dict[str,
                                      torch.Tensor]) -> Optional[PseudoLabels]:
        """Each stream's weak-view pseudo-labels of ``batch.unsup``.

        Logs ``sup.fg``, and per stream ``unsup[.sK].kept`` / ``.fg`` (sK
        the stream the labels supervise: with two streams each teaches the
        other), ``unsup.agree`` (two streams) and ``oracle.*``.
        """
        unsup, device = batch.unsup, batch.weak.device
        self.labelled_statistics(losses, batch.data_samples, batch.labelled,
                                 device)
        heads = self.stream_heads()
        if not unsup:
            if self.pseudo_label_filters:  # collective: every rank updates
                self.stream_pseudo_labels([z[:0] for z in batch.logits],
                                          torch.zeros(
                                              (0, ) +
                                              tuple(batch.logits[0].shape[2:]),
                                              dtype=torch.bool,
                                              device=device))
            return None
        z_weak = tuple(
            resize(
                z[unsup],
                size=batch.size,
                mode='bilinear',
                align_corners=head.align_corners)
            for z, head in zip(batch.logits, heads))
        valid = padding_mask(batch.data_samples, unsup, batch.size, device)
        out = self.stream_pseudo_labels(z_weak, valid)
        labels, kept = [y for y, _ in out], [k for _, k in out]
        with torch.no_grad():
            preds = [z.detach().argmax(dim=1) for z in z_weak]
        if len(heads) == 1:
            losses['unsup.kept'], losses['unsup.fg'] = \
                self.pseudo_label_shares(labels[0], kept[0], valid)
            prefixes = ['']
        else:
            n = len(heads)
            for k in range(n):  # stream k's labels supervise stream k + 1
                to = (k + 1) % n + 1
                losses[f'unsup.s{to}.kept'], losses[f'unsup.s{to}.fg'] = \
                    self.pseudo_label_shares(labels[k], kept[k], valid)
            losses['unsup.agree'] = (preds[0] == preds[1])[valid].float().mean(
            ) if valid.any() else torch.ones((), device=device)
            prefixes = [f's{k}.' for k in range(1, n + 1)]
        self.oracle_figures(losses, batch.data_samples, unsup, preds, labels,
                            kept, prefixes)
        return PseudoLabels(z_weak, valid, labels, kept)

    def labelled_statistics(self, losses: Dict[str, torch.Tensor],
                            data_samples: Sequence[SegDataSample],
                            labelled: Sequence[int],
                            device: torch.device) -> None:
        """``sup.fg`` (foreground share of labelled pixels) and the filters'
        labelled class prior (updated on every rank)."""
        if not labelled and not self.pseudo_label_filters:
            return
        gt = torch.cat([data_samples[i].gt_sem_seg.data
                        for i in labelled]).to(device) if labelled else \
            torch.zeros((0, 1, 1), dtype=torch.long, device=device)
        known = gt != self.ignore_index
        if labelled:
            losses['sup.fg'] = ((gt > 0) & known).sum() / \
                known.sum().clamp(min=1)
        for f in self.pseudo_label_filters:
            f.update_prior(gt, self.ignore_index)

    def stream_pseudo_labels(
            self, z_weak: Sequence[torch.Tensor],
            valid: torch.Tensor) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """(labels, kept) of each stream's weak-view logits, the
        probabilities passed through the filters' ``transform`` (e.g.
        distribution alignment, whose marginals are updated first) and the
        threshold lowered per class by a filter's ``class_portion``.

        With an empty batch (no pseudo-labelled sample on this rank) call it
        with empty tensors: the alignment statistics are collective."""
        filters = self.pseudo_label_filters
        portion = next((f.class_portion
                        for f in filters if f.class_portion is not None), None)
        out = []
        for k, z in enumerate(z_weak):

            def align(p, k=k):
                for f in filters:
                    p = f.transform(k, p, valid)
                return p

            out.append(
                pseudo_labels(z, self.semi_train_cfg.conf_threshold,
                              self.ignore_index, valid,
                              align if filters else None, portion))
        return out

    @staticmethod
    def pseudo_label_shares(
            labels: torch.Tensor, kept: torch.Tensor,
            valid: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(kept share of all pixels, kept-foreground share of valid
        pixels)."""
        return kept.float().mean(), (kept & (labels > 0)).sum() / \
            valid.sum().clamp(min=1)

    def oracle_figures(self, losses: Dict[str, torch.Tensor],
                       data_samples: Sequence[SegDataSample],
                       idx: Sequence[int], preds: Sequence[torch.Tensor],
                       labels: Sequence[torch.Tensor],
                       kept: Sequence[torch.Tensor],
                       prefixes: Sequence[str]) -> None:
        """``oracle.{prefix}pl_acc`` / ``pl_fg_dice`` of each stream's
        pseudo-labels against hidden labels, where the samples carry them
        (``oracle_sem_seg``; analysis only, no loss reads them)."""
        rows = [
            r for r, i in enumerate(idx) if 'oracle_sem_seg' in data_samples[i]
        ]
        if not rows:
            return
        h, w = preds[0].shape[1:]
        device = preds[0].device
        gt = torch.full((len(rows), h, w),
                        self.ignore_index,
                        dtype=torch.long,
                        device=device)
        for j, r in enumerate(rows):
            o = data_samples[idx[r]].oracle_sem_seg.data[0]
            oh, ow = min(h, o.shape[0]), min(w, o.shape[1])
            gt[j, :oh, :ow] = o[:oh, :ow].to(device)
        known = gt != self.ignore_index
        with torch.no_grad():
            for pred, lab, kp, prefix in zip(preds, labels, kept, prefixes):
                pred, keep = pred[rows], kp[rows] & known
                if keep.any():
                    losses[f'oracle.{prefix}pl_acc'] = (
                        lab[rows] == gt)[keep].float().mean()
                dices = []
                for c in range(1, self.num_classes):
                    p, g = (pred == c) & known, gt == c
                    denom = p.sum() + g.sum()
                    if denom > 0:
                        dices.append(2.0 * (p & g).sum() / denom)
                if dices:
                    losses[f'oracle.{prefix}pl_fg_dice'] = torch.stack(
                        dices).float().mean()
