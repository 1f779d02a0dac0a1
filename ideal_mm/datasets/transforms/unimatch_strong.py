"""UniMatch's strong views of a grey-level slice (medical scenario).

UniMatch (LiheYoung/UniMatch, more-scenarios/medical/dataset/acdc.py,
``ACDCDataset.__getitem__``) makes each strong view of an unlabelled slice
with torchvision's ``ColorJitter(0.5, 0.5, 0.5, 0.25)`` applied with
probability 0.8, then a Gaussian blur with ``sigma ~ U(0.1, 2)`` with
probability 0.5 (``dataset/transform.py``, ``blur``). On a grey-level (PIL
mode ``L``) image saturation and hue change nothing, so the jitter is a
brightness factor ``b ~ U(0.5, 1.5)`` and a contrast factor
``c ~ U(0.5, 1.5)`` applied in a random order, each clipped to the value
range:

    brightness: x -> clip(b * x)
    contrast:   x -> clip(mean(x) + c * (x - mean(x)))

``WeakStrongViews``' ``RandomIntensity`` (additive brightness, gamma, noise,
fixed order) cannot express this, hence this transform; the view packing is
``WeakStrongViews``'. Differences from the official code: UniMatch rounds
the slice to 8 bits before augmenting and PIL's blur is a box-filter
approximation of the Gaussian; here the float slice is kept and OpenCV's
Gaussian is used (differences of about 1/255 of the range).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ideal_mm.errors import ConfigError
from .semi_views import WeakStrongViews


def gray_color_jitter(
    img: np.ndarray,
    brightness: float,
    contrast: float,
    contrast_first: bool = False,
    value_range: Optional[Sequence[float]] = (0.0, 1.0)
) -> np.ndarray:
    """Brightness and contrast factors of ``ColorJitter`` on a grey image.

    ``brightness``: ``x -> b * x``; ``contrast``: ``x -> m + c * (x - m)``
    with ``m`` the mean of the image at that step; each result is clipped to
    ``value_range`` (None: not clipped), as PIL clips to [0, 255].
    """
    out = np.asarray(img, dtype=np.float32)

    def clip(x: np.ndarray) -> np.ndarray:
        if value_range is None:
            return x
        return np.clip(x, value_range[0], value_range[1])

    def bright(x: np.ndarray) -> np.ndarray:
        return clip(x * np.float32(brightness))

    def contr(x: np.ndarray) -> np.ndarray:
        mean = np.float32(x.mean())
        return clip(mean + np.float32(contrast) * (x - mean))

    steps = (contr, bright) if contrast_first else (bright, contr)
    for step in steps:
        out = step(out)
    return out.astype(np.float32)


def _factor(name: str, value: float) -> Tuple[float, float]:
    """torchvision's ``ColorJitter`` factor range ``[1 - v, 1 + v]``."""
    if not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f'UniMatchStrongAug.{name}={value!r} must be a '
                          'number in [0, 1] (factor range [1-v, 1+v])')
    return 1.0 - float(value), 1.0 + float(value)


@TRANSFORMS.register_module()
class UniMatchStrongAug(BaseTransform):
    """UniMatch's strong perturbation of ``results['img']`` (float, grey).

    With probability ``jitter_prob`` brightness and contrast factors
    ``b ~ U(1 - brightness, 1 + brightness)``, ``c ~ U(1 - contrast,
    1 + contrast)`` in a random order (:func:`gray_color_jitter`); then with
    probability ``blur_prob`` a Gaussian blur, ``sigma ~ U(blur_sigma_range)``.

    Args:
        jitter_prob: probability of the jitter (UniMatch: 0.8).
        brightness: brightness strength (UniMatch: 0.5).
        contrast: contrast strength (UniMatch: 0.5).
        blur_prob: probability of the blur (UniMatch: 0.5).
        blur_sigma_range: blur sigma range (UniMatch: (0.1, 2.0)).
        value_range: clipping range of the jitter (None: no clipping);
            ACDC slices in this project lie in [0, 1].
    """

    def __init__(
        self,
        jitter_prob: float = 0.8,
        brightness: float = 0.5,
        contrast: float = 0.5,
        blur_prob: float = 0.5,
        blur_sigma_range: Sequence[float] = (0.1, 2.0),
        value_range: Optional[Sequence[float]] = (0.0, 1.0)
    ) -> None:
        for name, p in (('jitter_prob', jitter_prob), ('blur_prob',
                                                       blur_prob)):
            if not isinstance(p, (int, float)) or not 0 <= p <= 1:
                raise ConfigError(f'UniMatchStrongAug.{name}={p!r} must be '
                                  'in [0, 1]')
        self.jitter_prob, self.blur_prob = float(jitter_prob), float(blur_prob)
        self.brightness = _factor('brightness', brightness)
        self.contrast = _factor('contrast', contrast)
        try:
            lo, hi = (float(v) for v in blur_sigma_range)
        except (TypeError, ValueError):
            raise ConfigError('UniMatchStrongAug.blur_sigma_range='
                              f'{blur_sigma_range!r} must be a pair '
                              '(min, max)') from None
        if not 0 < lo <= hi:
            raise ConfigError('UniMatchStrongAug.blur_sigma_range='
                              f'({lo}, {hi}) must satisfy 0 < min <= max')
        self.blur_sigma_range = (lo, hi)
        if value_range is not None:
            value_range = tuple(float(v) for v in value_range)
            if len(value_range) != 2 or value_range[0] >= value_range[1]:
                raise ConfigError('UniMatchStrongAug.value_range='
                                  f'{value_range!r} must be (min, max) with '
                                  'min < max, or None')
        self.value_range = value_range

    def transform(self, results: Dict) -> Dict:
        """Perturb ``results['img']`` ((H, W) or (H, W, C) float)."""
        img = np.ascontiguousarray(results['img'], dtype=np.float32)
        shape = img.shape
        if np.random.rand() < self.jitter_prob:
            b = np.random.uniform(*self.brightness)
            c = np.random.uniform(*self.contrast)
            img = gray_color_jitter(
                img,
                b,
                c,
                contrast_first=np.random.rand() < 0.5,
                value_range=self.value_range)
        if np.random.rand() < self.blur_prob:
            sigma = np.random.uniform(*self.blur_sigma_range)
            img = cv2.GaussianBlur(
                img, (0, 0),
                sigmaX=sigma,
                sigmaY=sigma,
                borderType=cv2.BORDER_REFLECT_101).reshape(shape)
        results['img'] = np.ascontiguousarray(img, dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(jitter_prob={self.jitter_prob}, '
                f'brightness={self.brightness}, contrast={self.contrast}, '
                f'blur_prob={self.blur_prob}, '
                f'blur_sigma_range={self.blur_sigma_range}, '
                f'value_range={self.value_range})')


@TRANSFORMS.register_module()
class UniMatchStrongViews(WeakStrongViews):
    """``WeakStrongViews`` whose strong views are UniMatch's.

    ``img`` becomes (H, W, C * (1 + num_strong)), weak view first, each
    strong view an independent draw of :class:`UniMatchStrongAug`
    (UniMatch: two strong views per unlabelled slice). CutMix boxes are drawn
    in the segmentor (``ideal_mm.models.losses.box_masks``).

    Args:
        num_strong: number of strong views (UniMatch: 2).
        strong: ``UniMatchStrongAug`` arguments (default: UniMatch's).
        labelled_strong: also perturb labelled slices.
    """

    def __init__(self,
                 num_strong: int = 2,
                 strong: Optional[dict] = None,
                 labelled_strong: bool = False) -> None:
        super().__init__(
            num_strong=num_strong, labelled_strong=labelled_strong)
        self.strong_cfg = dict(strong or {})
        self.strong = UniMatchStrongAug(**self.strong_cfg)
