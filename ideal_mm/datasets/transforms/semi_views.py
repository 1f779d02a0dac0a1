"""Weak/strong views of a slice for semi-supervised training, and their
packing.

FixMatch / UniMatch-style training lets a weakly augmented view's confident
prediction supervise strongly perturbed views of the *same* pixels. mmdet packs
such branches as a dict of inputs per sample (``MultiBranch``); mmseg's
``SegDataPreProcessor`` and mmengine's collate stack one tensor per sample, so
here the views travel as channel groups of that one tensor: ``img`` becomes
(H, W, C * (1 + num_strong)), weak view first. Padding, stacking and the
transfer to the device then stay in mmseg's own preprocessor, and the
segmentor (its ``StrongViewPseudoLabel`` branch's ``num_views``) splits the
groups again.

Strong views change intensities only (gamma, contrast, brightness, noise,
blur, each with a wider range than the weak augmentation), so every pixel of a
strong view still lies under the same pixel of the weak view and its
pseudo-label needs no warping; CutMix, which mixes two images, is applied in
the segmentor where both images and their pseudo-labels are at hand.

``PackSemiSegInputs`` is mmseg's ``PackSegInputs`` plus an optional hidden
label (``oracle_seg_map``) of slices that training treats as unlabelled, for
logging how accurate the pseudo-labels are (phantoms always have one); it is
never used by a loss.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

from ideal_mm.errors import ConfigError
from .intensity import RandomIntensity

STRONG_DEFAULT = dict(
    gamma_prob=0.8,
    gamma_range=(0.5, 2.0),
    contrast_prob=0.8,
    contrast_range=(0.5, 1.5),
    brightness_prob=0.8,
    brightness_range=(-0.25, 0.25),
    noise_prob=0.5,
    noise_std_range=(0.0, 0.1),
    blur_prob=0.5,
    blur_sigma_range=(0.1, 2.0))


@TRANSFORMS.register_module()
class WeakStrongViews(BaseTransform):
    """Append ``num_strong`` photometrically perturbed copies of ``img``.

    Place it after the (weak) geometric and intensity augmentation and before
    ``PackSegInputs`` / ``PackSemiSegInputs``. For labelled slices (those with
    ``gt_seg_map``) the strong groups are plain copies of the weak view unless
    ``labelled_strong=True``: the semi-supervised losses use strong views of
    pseudo-labelled slices only, and copies cost nothing to make.

    Args:
        num_strong: number of strong views (>= 1).
        strong: ``RandomIntensity`` arguments of a strong view (default
            ``STRONG_DEFAULT``: gamma 0.5-2, contrast 0.5-1.5, brightness
            +-0.25, noise up to 0.1, blur sigma up to 2).
        labelled_strong: also perturb labelled slices.
    """

    def __init__(self,
                 num_strong: int = 1,
                 strong: Optional[dict] = None,
                 labelled_strong: bool = False) -> None:
        if not isinstance(num_strong, int) or num_strong < 1:
            raise ConfigError(
                f'WeakStrongViews.num_strong={num_strong!r} must be an int '
                '>= 1')
        self.num_strong = num_strong
        self.strong_cfg = dict(STRONG_DEFAULT if strong is None else strong)
        self.strong = RandomIntensity(**self.strong_cfg)
        self.labelled_strong = bool(labelled_strong)

    def transform(self, results: Dict) -> Dict:
        """``img`` (H, W[, C]) -> (H, W, C * (1 + num_strong)), weak first."""
        img = np.asarray(results['img'], dtype=np.float32)
        if img.ndim == 2:
            img = img[..., None]
        views = [img]
        perturb = self.labelled_strong or 'gt_seg_map' not in results
        for _ in range(self.num_strong):
            if perturb:
                out = self.strong.transform(dict(img=img.copy()))['img']
                views.append(out.reshape(img.shape))
            else:
                views.append(img)
        results['img'] = np.ascontiguousarray(np.concatenate(views, axis=-1))
        results['num_views'] = 1 + self.num_strong
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_strong={self.num_strong}, '
                f'strong={self.strong_cfg}, '
                f'labelled_strong={self.labelled_strong})')


@TRANSFORMS.register_module()
class PackSemiSegInputs(PackSegInputs):
    """mmseg's ``PackSegInputs`` plus the hidden label ``oracle_seg_map``.

    When ``results`` holds ``oracle_seg_map`` (``ACDCDataset(oracle_labels=
    True)`` for slices that training treats as unlabelled), it is packed as
    ``data_sample.oracle_sem_seg`` (``PixelData``, (1, H, W) long). The
    segmentors only read it to log ``oracle.*`` figures.
    """

    def transform(self, results: Dict) -> Dict:
        """Pack as ``PackSegInputs`` does, then attach the oracle label."""
        packed = super().transform(results)
        oracle = results.get('oracle_seg_map')
        if oracle is not None:
            data = torch.from_numpy(
                np.ascontiguousarray(oracle).astype(np.int64))[None]
            packed['data_samples'].set_data(
                dict(oracle_sem_seg=PixelData(data=data)))
        return packed
