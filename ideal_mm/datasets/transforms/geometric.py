"""``RandomAffineResize``: resize + rotation + scale + flip + shift in one
warp.

mmseg's training geometry for ACDC is ``Resize`` -> ``RandomRotate`` ->
``RandomFlip``: three passes over the image and the label map, and two
resamplings of the image (the rotation interpolates the already interpolated
resize). This transform composes the same operations into ONE affine map and
resamples once with ``cv2.warpAffine`` (bilinear for the image, nearest for
label maps). Samples drawn without rotation, scaling or shift (half of them
with the default settings) take an even cheaper path: ``cv2.resize`` plus
``cv2.flip``, which is the same map.

Coordinates: pixel centres at integer ``(x, y)`` (column, row), as in OpenCV
and in :mod:`ideal_mm.datasets.transforms.two_view`. The stored 3x3 matrix maps
source pixel coordinates to output pixel coordinates.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ideal_mm.errors import ConfigError

FLIP_DIRECTIONS = ('horizontal', 'vertical', 'diagonal')
_INTERP = {'bilinear': cv2.INTER_LINEAR, 'nearest': cv2.INTER_NEAREST}
# cv2.resize's INTER_NEAREST picks floor(x_dst * scale) (not centre-aligned);
# INTER_NEAREST_EXACT picks floor((x_dst + 0.5) * scale), the pixel whose
# centre is nearest, which is what warpAffine's nearest mode does too.
_RESIZE_INTERP = {
    'bilinear': cv2.INTER_LINEAR,
    'nearest': getattr(cv2, 'INTER_NEAREST_EXACT', cv2.INTER_NEAREST)
}
# dtypes cv2.warpAffine / cv2.resize accept for label maps
_CV2_SEG_DTYPES = (np.uint8, np.uint16, np.int16, np.int32, np.float32)


def _size(value: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        h, w = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f'RandomAffineResize.out_size={value!r} must be an '
                          'int or (h, w)') from None
    if h < 1 or w < 1:
        raise ConfigError(f'RandomAffineResize.out_size={value!r} must be '
                          'positive')
    return h, w


def _prob(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(
            f'RandomAffineResize.{name}={value!r} must be in [0, 1]')
    return float(value)


def _range(name: str,
           value: Optional[Union[float, Sequence[float]]],
           centre: float,
           low: float = -np.inf) -> Optional[Tuple[float, float]]:
    """(a, b); a scalar v means (centre - v, centre + v); None stays None."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        a, b = centre - abs(float(value)), centre + abs(float(value))
    else:
        try:
            a, b = (float(v) for v in value)
        except (TypeError, ValueError):
            raise ConfigError(f'RandomAffineResize.{name}={value!r} must be a '
                              'number or a pair (min, max)') from None
    if a > b or a <= low:
        raise ConfigError(f'RandomAffineResize.{name}=({a}, {b}) must satisfy '
                          f'{low} < min <= max')
    return a, b


def resize_matrix(src_shape: Sequence[int],
                  out_shape: Sequence[int]) -> np.ndarray:
    """3x3 source -> output map of a per-axis resize (``cv2.resize``'s).

    Pixel centres are aligned: ``x_out = (x_src + 0.5) * w / W - 0.5``.
    """
    (src_h, src_w), (h, w) = src_shape[:2], out_shape[:2]
    sx, sy = w / src_w, h / src_h
    return np.array(
        [[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]],
        dtype=np.float64)


def augment_matrix(
    out_shape: Sequence[int],
    angle: float = 0.0,
    scale: float = 1.0,
    flip_direction: Optional[str] = None,
    shift: Tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """3x3 map on the output grid: scale, rotate, flip about the centre, shift.

    ``angle`` in degrees, positive = clockwise on the displayed image (mmcv's
    ``imrotate`` convention); ``scale`` > 1 zooms in; ``shift`` = (dx, dy)
    pixels; ``flip_direction`` one of ``FLIP_DIRECTIONS`` or None.
    """
    h, w = out_shape[:2]
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    theta = math.radians(angle)
    c, s = math.cos(theta), math.sin(theta)
    lin = np.array([[c, -s], [s, c]], dtype=np.float64) * scale
    fx = -1.0 if flip_direction in ('horizontal', 'diagonal') else 1.0
    fy = -1.0 if flip_direction in ('vertical', 'diagonal') else 1.0
    lin = np.diag([fx, fy]) @ lin
    out = np.eye(3, dtype=np.float64)
    out[:2, :2] = lin
    out[:2, 2] = np.array([cx + shift[0], cy + shift[1]]) - lin @ [cx, cy]
    return out


@TRANSFORMS.register_module()
class RandomAffineResize(BaseTransform):
    """Resize to ``out_size`` and randomly rotate, scale, flip and shift, once.

    The output is ``warpAffine(img, M)`` with, from source to output,
    ``M = shift . flip . rotate . scale . resize`` (rotation, scale and flip
    about the output centre). Each sample draws, with ``np.random`` (seeded by
    mmengine per worker, as mmseg's transforms are):

    * rotation with probability ``rotate_prob``: angle ~ U(rotate_range)
      degrees (a scalar r means U(-r, r); positive = clockwise, as mmseg's
      ``RandomRotate``);
    * scaling with probability ``scale_prob`` when ``scale_range`` is set:
      s ~ U(scale_range), > 1 zooms in;
    * a flip with probability ``flip_prob``, its direction uniform over
      ``flip_direction`` (as mmcv's ``RandomFlip`` with a float ``prob``);
    * a shift with probability ``translate_prob``: (dx, dy) ~ U(-t, t) x
      (w, h) with ``t = translate``.

    The default arguments reproduce the ACDC training geometry
    ``Resize(keep_ratio=False) + RandomRotate(prob=0.5, degree=20) +
    RandomFlip(prob=0.5, direction=['horizontal', 'vertical'])``.

    Required keys: ``img`` ((H, W) or (H, W, C)); optional ``seg_fields``
    (e.g. ``gt_seg_map``). Modified: ``img`` (float32, ``out_size``), every
    seg field (nearest neighbour, dtype kept), ``img_shape``. Added:
    ``scale_factor`` (w / W, h / H of the resize, as mmcv's ``Resize``),
    ``keep_ratio`` (False), ``flip``, ``flip_direction``, ``rotate_angle``,
    ``warp_matrix`` (3x3 float64, source -> output). Pixels whose source point
    lies outside the slice get ``pad_val`` / ``seg_pad_val``.

    Args:
        out_size: output (h, w) or an int.
        rotate_prob: probability of a rotation.
        rotate_range: degrees, scalar r = (-r, r).
        scale_prob: probability of scaling (when ``scale_range`` is set).
        scale_range: (min, max) zoom factor, or None for no scaling.
        flip_prob: probability of a flip.
        flip_direction: directions to choose from (``'horizontal'``,
            ``'vertical'``, ``'diagonal'``).
        translate: maximum shift as a fraction of the output size.
        translate_prob: probability of a shift (when ``translate`` > 0).
        interpolation: image interpolation, ``'bilinear'`` or ``'nearest'``.
        pad_val: image value outside the source.
        seg_pad_val: label value outside the source (0 = background).
    """

    def __init__(self,
                 out_size: Union[int, Sequence[int]] = (256, 256),
                 rotate_prob: float = 0.5,
                 rotate_range: Union[float, Sequence[float]] = 20.0,
                 scale_prob: float = 1.0,
                 scale_range: Optional[Sequence[float]] = None,
                 flip_prob: float = 0.5,
                 flip_direction: Union[str, Sequence[str]] = ('horizontal',
                                                              'vertical'),
                 translate: float = 0.0,
                 translate_prob: float = 1.0,
                 interpolation: str = 'bilinear',
                 pad_val: float = 0.0,
                 seg_pad_val: int = 0) -> None:
        self.out_size = _size(out_size)
        self.rotate_prob = _prob('rotate_prob', rotate_prob)
        self.rotate_range = _range('rotate_range', rotate_range, 0.0)
        self.scale_prob = _prob('scale_prob', scale_prob)
        self.scale_range = _range('scale_range', scale_range, 1.0, low=0.0)
        self.flip_prob = _prob('flip_prob', flip_prob)
        if isinstance(flip_direction, str):
            flip_direction = (flip_direction, )
        flip_direction = tuple(flip_direction)
        bad = [d for d in flip_direction if d not in FLIP_DIRECTIONS]
        if bad or not flip_direction:
            raise ConfigError(
                f'RandomAffineResize.flip_direction={flip_direction!r}: each '
                f'must be one of {FLIP_DIRECTIONS}')
        self.flip_direction = flip_direction
        if not isinstance(translate, (int, float)) or not 0 <= translate < 1:
            raise ConfigError(f'RandomAffineResize.translate={translate!r} '
                              'must be in [0, 1)')
        self.translate = float(translate)
        self.translate_prob = _prob('translate_prob', translate_prob)
        if interpolation not in _INTERP:
            raise ConfigError(
                f'RandomAffineResize.interpolation={interpolation!r} must be '
                f'one of {tuple(_INTERP)}')
        self.interpolation = interpolation
        self.pad_val = float(pad_val)
        self.seg_pad_val = int(seg_pad_val)

    # ------------------------------------------------------------------
    def sample_params(self) -> Dict[str, object]:
        """Draw ``angle``, ``scale``, ``flip_direction`` and ``shift``."""
        angle, scale, direction, shift = 0.0, 1.0, None, (0.0, 0.0)
        if self.rotate_range is not None and np.random.rand() < \
                self.rotate_prob:
            angle = float(np.random.uniform(*self.rotate_range))
        if self.scale_range is not None and np.random.rand() < \
                self.scale_prob:
            scale = float(np.random.uniform(*self.scale_range))
        if np.random.rand() < self.flip_prob:
            direction = self.flip_direction[np.random.randint(
                len(self.flip_direction))]
        if self.translate > 0 and np.random.rand() < self.translate_prob:
            h, w = self.out_size
            dx, dy = np.random.uniform(-self.translate, self.translate, 2)
            shift = (float(dx * w), float(dy * h))
        return dict(
            angle=angle, scale=scale, flip_direction=direction, shift=shift)

    def matrix(
        self,
        src_shape: Sequence[int],
        angle: float = 0.0,
        scale: float = 1.0,
        flip_direction: Optional[str] = None,
        shift: Tuple[float, float] = (0.0, 0.0)
    ) -> np.ndarray:
        """The 3x3 source -> output matrix for the given parameters."""
        return augment_matrix(self.out_size, angle, scale, flip_direction,
                              shift) @ resize_matrix(src_shape, self.out_size)

    # ------------------------------------------------------------------
    def _resize_flip(self, arr: np.ndarray, interp: str,
                     direction: Optional[str]) -> np.ndarray:
        """The fast path: ``cv2.resize`` (if needed) then ``cv2.flip``."""
        h, w = self.out_size
        if arr.shape[:2] != (h, w):
            arr = cv2.resize(arr, (w, h), interpolation=_RESIZE_INTERP[interp])
        if direction is not None:
            code = {'horizontal': 1, 'vertical': 0, 'diagonal': -1}[direction]
            arr = cv2.flip(arr, code)
        return np.ascontiguousarray(arr)

    def _warp(self, arr: np.ndarray, matrix: np.ndarray, interp: str,
              border: float) -> np.ndarray:
        h, w = self.out_size
        if arr.ndim == 3 and arr.shape[2] > 4:  # cv2 remaps <= 4 channels
            return np.concatenate([
                self._warp(arr[..., i:i + 4], matrix, interp, border)
                for i in range(0, arr.shape[2], 4)
            ],
                                  axis=2)
        out = cv2.warpAffine(
            arr,
            matrix[:2], (w, h),
            flags=_INTERP[interp],
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border)
        if arr.ndim == 3 and out.ndim == 2:  # cv2 drops a single channel
            out = out[..., None]
        return out

    def apply(
        self,
        results: dict,
        angle: float = 0.0,
        scale: float = 1.0,
        flip_direction: Optional[str] = None,
        shift: Tuple[float, float] = (0.0, 0.0)
    ) -> dict:
        """Apply the given (not random) parameters to ``results``."""
        img = results['img']
        if not isinstance(img, np.ndarray) or img.ndim not in (2, 3):
            raise ValueError(
                'RandomAffineResize needs results["img"] as an (H, W) or '
                f'(H, W, C) array, got {getattr(img, "shape", type(img))}')
        img = np.ascontiguousarray(img, dtype=np.float32)
        src_shape = img.shape[:2]
        matrix = self.matrix(src_shape, angle, scale, flip_direction, shift)
        plain = angle == 0.0 and scale == 1.0 and shift == (0.0, 0.0)
        if plain:
            results['img'] = self._resize_flip(img, self.interpolation,
                                               flip_direction)
        else:
            results['img'] = self._warp(img, matrix, self.interpolation,
                                        self.pad_val)
        for key in results.get('seg_fields', []):
            seg = np.asarray(results[key])
            if seg.shape[:2] != src_shape:
                raise ValueError(f'RandomAffineResize: results[{key!r}] has '
                                 f'shape {seg.shape}, image {src_shape}')
            dtype = seg.dtype
            if dtype.type not in _CV2_SEG_DTYPES:
                seg = seg.astype(np.int32)
            seg = np.ascontiguousarray(seg)
            if plain:
                out = self._resize_flip(seg, 'nearest', flip_direction)
            else:
                out = self._warp(seg, matrix, 'nearest', self.seg_pad_val)
            results[key] = out.astype(dtype, copy=False)
        h, w = self.out_size
        results['img_shape'] = (h, w)
        results['scale_factor'] = (w / src_shape[1], h / src_shape[0])
        results['keep_ratio'] = False
        results['flip'] = flip_direction is not None
        results['flip_direction'] = flip_direction
        results['rotate_angle'] = angle
        results['warp_matrix'] = matrix
        return results

    def transform(self, results: dict) -> dict:
        """Draw parameters and warp ``img`` and the seg fields once."""
        return self.apply(results, **self.sample_params())

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(out_size={self.out_size}, '
                f'rotate_prob={self.rotate_prob}, '
                f'rotate_range={self.rotate_range}, '
                f'scale_prob={self.scale_prob}, '
                f'scale_range={self.scale_range}, '
                f'flip_prob={self.flip_prob}, '
                f'flip_direction={self.flip_direction}, '
                f'translate={self.translate}, '
                f'interpolation={self.interpolation!r}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val})')
