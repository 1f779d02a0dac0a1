"""Unlabelled-data branches: the terms a pseudo-labelling segmentor adds on
its unlabelled samples, as registered components composed in the config::

    model = dict(
        type='BiConsistencySemiSupModel', ...,
        unsup_branches=[
            dict(type='StrongViewPseudoLabel', num_views=1, cutmix_prob=0.5),
            dict(type='FeaturePerturbation', p=0.5),
        ])

A branch decodes some input (the weak view's logits, strong views, dropped
features, copy-pasted mixes) with every stream of the model and asks the
model for the loss against the pseudo-labels (:meth:`UnlabelledSignalMixin.
pseudo_label_losses`): with one stream the stream's own labels
(``unsup.<loss_name>``), with two each stream learns from the other's
(``unsup.s{k}.<loss_name>``). So every branch works with the single-stream
``UniMatchStyleSemiSupModel`` and the two-stream ``BiConsistencySemiSupModel``
alike. mmseg has no such parts (its segmentors are supervised).
"""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
from mmseg.registry import MODELS

from ...errors import ConfigError


def random_boxes(n: int, size: Tuple[int, int], side: Tuple[float, float],
                 prob: float, device: torch.device) -> torch.Tensor:
    """(n, H, W) bool masks of random boxes, each present with ``prob``.

    Box sides are ``U(side) * H`` and ``U(side) * W`` (fractions), at a
    uniformly random position inside the image (torch's generator, which
    mmengine seeds).
    """
    h, w = (int(v) for v in size)
    masks = torch.zeros((n, h, w), dtype=torch.bool, device=device)
    for i in range(n):
        if torch.rand(()) >= prob:
            continue
        fh, fw = (side[0] + (side[1] - side[0]) * torch.rand(2)).tolist()
        bh, bw = max(1, round(fh * h)), max(1, round(fw * w))
        y0 = int(torch.randint(0, h - bh + 1, ()))
        x0 = int(torch.randint(0, w - bw + 1, ()))
        masks[i, y0:y0 + bh, x0:x0 + bw] = True
    return masks


def _probability(value, key: str, upper_open: bool = False) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0 or (upper_open and value >= 1.0):
        bound = '[0, 1)' if upper_open else '[0, 1]'
        raise ConfigError(f'model.unsup_branches: {key} must be in {bound}, '
                          f'got {value!r}')
    return value


class UnsupBranch(nn.Module, metaclass=ABCMeta):
    """One unlabelled-data term; ``num_views`` strong views it reads from the
    inputs (``WeakStrongViews`` packs them as channel groups).

    Args:
        loss_name: the key of the term (``unsup[.sK].<loss_name>``).
    """

    num_views: int = 0
    #: True when the branch must not see labelled samples as unlabelled
    needs_unlabelled_only: bool = False

    def __init__(self, loss_name: str) -> None:
        super().__init__()
        self.loss_name = loss_name

    @abstractmethod
    def forward(self, model, batch, pseudo,
                views: Sequence[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """The branch's weighted ``unsup.*`` losses (``views``: its strong
        views); a branch without it cannot be instantiated (ABC)."""


@MODELS.register_module()
class WeakViewPseudoLabel(UnsupBranch):
    """The pseudo-labels supervise the weak view's own logits (cross pseudo
    supervision with two streams, IDEAL's plain form)."""

    def __init__(self, loss_name: str = 'loss_cps') -> None:
        super().__init__(loss_name)

    def forward(self, model, batch, pseudo, views=()):
        """``w * L(z_k(weak), y)`` on the ``unsup`` samples."""
        return model.pseudo_label_losses(pseudo.z_weak, pseudo.labels,
                                         self.loss_name, batch.weight)


@MODELS.register_module()
class StrongViewPseudoLabel(UnsupBranch):
    """Weak-view pseudo-labels supervise strongly augmented views (FixMatch,
    UniMatch): the ``num_views`` strong views of the ``unsup`` samples are
    stacked in one batch, targets repeated; ``cutmix_prob=p``: with
    probability p per sample a random box (side 1/4 to 1/2) of its strong
    view comes from the next sample of its group, targets alike::

        unsup[.sK].<loss_name> = w * L(z_k([s_1; ...; s_n]), [y; ...; y])

    Args:
        num_views: strong views per sample (>= 1; ``WeakStrongViews``'s
            ``num_strong``).
        cutmix_prob: CutMix probability in [0, 1].
        loss_name: default 'loss_cps'.
    """

    def __init__(self,
                 num_views: int = 1,
                 cutmix_prob: float = 0.0,
                 loss_name: str = 'loss_cps') -> None:
        super().__init__(loss_name)
        if not isinstance(num_views, int) or isinstance(num_views, bool) \
                or num_views < 1:
            raise ConfigError('model.unsup_branches: StrongViewPseudoLabel.'
                              f'num_views must be an int >= 1, got '
                              f'{num_views!r}')
        self.num_views = num_views
        self.cutmix_prob = _probability(cutmix_prob, 'cutmix_prob')

    def cutmix(self, strong: torch.Tensor, targets: Sequence[torch.Tensor],
               num: int) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """CutMix within each strong-view group of ``num`` samples: a box of
        sample i comes from sample i + 1 (mod num), images and targets
        alike."""
        if num < 2:
            return strong, list(targets)
        groups = strong.shape[0] // num
        order = torch.cat([
            torch.roll(torch.arange(num), -1) + g * num for g in range(groups)
        ]).to(strong.device)
        box = random_boxes(strong.shape[0], strong.shape[2:], (0.25, 0.5),
                           self.cutmix_prob, strong.device)
        mixed = torch.where(box[:, None], strong[order], strong)
        return mixed, [torch.where(box, t[order], t) for t in targets]

    def forward(self, model, batch, pseudo, views=()):
        """The strong views' term."""
        unsup = batch.unsup
        strong = torch.cat([v[unsup] for v in views])
        targets = [y.repeat(len(views), 1, 1) for y in pseudo.labels]
        if self.cutmix_prob > 0:
            strong, targets = self.cutmix(strong, targets, len(unsup))
        z = model.decode_streams(
            model.student.extract_feat(strong), batch.size)
        return model.pseudo_label_losses(z, targets, self.loss_name,
                                         batch.weight)


@MODELS.register_module()
class FeaturePerturbation(UnsupBranch):
    """UniMatch's feature perturbation: the weak view's encoder features of
    the ``unsup`` samples after ``Dropout2d(p)`` at every level are decoded
    and supervised by the pseudo-labels::

        unsup[.sK].<loss_name> = w * L(z_k(drop(E(weak))), y)

    Args:
        p: channel dropout probability in [0, 1).
        loss_name: default 'loss_fp'.
    """

    def __init__(self, p: float = 0.5, loss_name: str = 'loss_fp') -> None:
        super().__init__(loss_name)
        self.dropout = nn.Dropout2d(
            _probability(p, 'FeaturePerturbation.p', upper_open=True))

    def forward(self, model, batch, pseudo, views=()):
        """The perturbed features' term."""
        x_fp = [self.dropout(f[batch.unsup]) for f in batch.feats]
        return model.pseudo_label_losses(
            model.decode_streams(x_fp, batch.size), pseudo.labels,
            self.loss_name, batch.weight)


@MODELS.register_module()
class BidirectionalCopyPaste(UnsupBranch):
    """Bidirectional copy-paste (BCP, Bai et al. 2023) between labelled and
    pseudo-labelled samples: unlabelled sample u is paired with labelled
    sample a; a box of side ``ratio`` (random position, present with
    ``prob``) is swapped both ways, ``x_in = a outside / u inside`` and
    ``x_out = u outside / a inside``; the targets join a's ground truth and
    u's pseudo-labels in the same places::

        unsup[.sK].<loss_name> = w * L(z_k([x_in; x_out]), target)

    Needs ``unsup_on='unlabelled'`` (with 'all' labelled slices would be
    pasted into themselves) and does nothing on a batch without labels.

    Args:
        prob: probability of a box per pair, in [0, 1].
        ratio: box side as a fraction of the image, in (0, 1).
        loss_name: default 'loss_bcp'.
    """

    needs_unlabelled_only = True

    def __init__(self,
                 prob: float = 1.0,
                 ratio: float = 2 / 3,
                 loss_name: str = 'loss_bcp') -> None:
        super().__init__(loss_name)
        if not 0.0 < float(ratio) < 1.0:
            raise ConfigError('model.unsup_branches: BidirectionalCopyPaste'
                              f'.ratio must be in (0, 1), got {ratio!r}')
        self.prob = _probability(prob, 'BidirectionalCopyPaste.prob')
        self.ratio = float(ratio)

    def forward(self, model, batch, pseudo, views=()):
        """The mixed pairs' term (nothing without labelled samples)."""
        labelled, unsup, weak = batch.labelled, batch.unsup, batch.weak
        if not labelled:
            return {}
        n = min(len(labelled), len(unsup))
        size = weak.shape[2:]
        a, u = weak[labelled[:n]], weak[unsup[:n]]
        gt = torch.stack([
            batch.data_samples[i].gt_sem_seg.data[0] for i in labelled[:n]
        ]).to(
            device=weak.device, dtype=torch.long)
        box = random_boxes(n, size, (self.ratio, self.ratio), self.prob,
                           weak.device)
        x_in = torch.where(box[:, None], u, a)
        x_out = torch.where(box[:, None], a, u)
        targets = [
            torch.cat(
                [torch.where(box, y[:n], gt),
                 torch.where(box, gt, y[:n])]) for y in pseudo.labels
        ]
        z = model.decode_streams(
            model.student.extract_feat(torch.cat([x_in, x_out])), batch.size)
        return model.pseudo_label_losses(z, targets, self.loss_name,
                                         batch.weight)
