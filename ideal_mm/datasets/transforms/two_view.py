"""Two augmented views of one slice with an exact dense correspondence.

mmseg's transforms augment one image and forget the geometry; dense contrastive
learning needs two views *and* the map between them, so this module writes the
view pair, records each view's affine matrix, and turns the matrices into a
correspondence grid at whatever resolution the embeddings have
(:func:`ideal_mm.correspondence.dense_correspondence`, re-exported here).

Coordinates: pixel centres are at integer coordinates ``(x, y)`` (column, row),
as in OpenCV. A view's 3x3 matrix ``A`` maps source pixel coordinates to view
pixel coordinates (``cv2.warpAffine(src, A[:2], ...)`` produces the view).
Where an embedding cell sits in its view depends on the encoder
(:mod:`ideal_mm.geometry`); :func:`dense_correspondence` takes it as a stride
and an offset.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose
from mmengine.structures import BaseDataElement
from mmseg.registry import TRANSFORMS

from ideal_mm.correspondence import dense_correspondence  # noqa: F401
from ideal_mm.errors import ConfigError

Range = Tuple[float, float]


def _pair(value: Union[int, Sequence[int]], key: str) -> Tuple[int, int]:
    if isinstance(value, int):
        return value, value
    value = tuple(int(v) for v in value)
    if len(value) != 2 or min(value) < 1:
        raise ConfigError(f'{key} must be an int or (h, w) of positive ints, '
                          f'got {value!r}')
    return value  # type: ignore[return-value]


def _range(value: Optional[Union[float, Sequence[float]]],
           key: str,
           symmetric_around: Optional[float] = None) -> Optional[Range]:
    """A (low, high) range; a scalar v means (c - v, c + v) around c."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        if symmetric_around is None:
            raise ConfigError(f'{key} must be a (low, high) pair, got {value}')
        return (symmetric_around - float(value),
                symmetric_around + float(value))
    low, high = (float(v) for v in value)
    if low > high:
        raise ConfigError(f'{key} must have low <= high, got {value!r}')
    return low, high


def _translation(tx: float, ty: float) -> np.ndarray:
    return np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype=np.float64)


def _linear(a: float, b: float, c: float, d: float) -> np.ndarray:
    return np.array([[a, b, 0], [c, d, 0], [0, 0, 1]], dtype=np.float64)


@TRANSFORMS.register_module()
class DenseContrastiveTwoView(BaseTransform):
    """Make a query and a key view of ``results['img']`` (H, W) float32.

    Each view gets its own random geometric transform, composed into ONE
    affine map applied with ``cv2.warpAffine`` (so the views are resampled
    once), followed by its own random photometric changes. About the slice
    centre, in this order: resize to ``out_size`` (per axis, or keeping the
    aspect ratio and fitting inside when ``keep_ratio``), flip, scale (zoom in
    > 1 crops, zoom out < 1 pads with ``pad_val``), rotation; then a
    translation of up to ``translate`` x the output size (the crop position).
    Photometric changes come from ``view_pipeline``, run on each warped view
    separately (default: ideal_mm's ``RandomIntensity``: brightness,
    contrast, gamma, Gaussian noise and blur); it must not change geometry.

    Adds ``img`` (2, h, w) float32 (query view, then key view),
    ``affine_q`` / ``affine_k`` (3, 3) float64 source -> view matrices,
    ``src_shape`` (H, W), ``img_shape`` (h, w); removes nothing else. Use
    :func:`dense_correspondence` to get the query -> key correspondence.

    Args:
        out_size: view size (h, w) or an int.
        keep_ratio: keep the slice's aspect ratio when resizing to
            ``out_size`` (default False: stretch each axis, as SSL4MIS does).
        flip_prob: probability of a flip, per view.
        flip_direction: directions to choose from ('horizontal', 'vertical').
        rotate_prob: probability of a rotation, per view.
        rotate_range: degrees; a scalar r means U(-r, r).
        scale_range: zoom factor range (default (0.8, 1.25)); None disables.
        translate: maximum shift as a fraction of the view size.
        view_pipeline: transform configs applied to each view
            (``dict(img=view)``) after warping; empty for none.
        interpolation: 'bilinear' (default) or 'nearest'.
        pad_val: value outside the slice.
    """

    def __init__(self,
                 out_size: Union[int, Sequence[int]] = (256, 256),
                 keep_ratio: bool = False,
                 flip_prob: float = 0.5,
                 flip_direction: Sequence[str] = ('horizontal', 'vertical'),
                 rotate_prob: float = 0.5,
                 rotate_range: Union[float, Sequence[float]] = 30.0,
                 scale_range: Optional[Sequence[float]] = (0.8, 1.25),
                 translate: float = 0.1,
                 view_pipeline: Sequence[dict] = (dict(
                     type='RandomIntensity'), ),
                 interpolation: str = 'bilinear',
                 pad_val: float = 0.0) -> None:
        super().__init__()
        self.out_size = _pair(out_size, 'DenseContrastiveTwoView.out_size')
        self.keep_ratio = bool(keep_ratio)
        for name, prob in (('flip_prob', flip_prob), ('rotate_prob',
                                                      rotate_prob)):
            if not 0.0 <= prob <= 1.0:
                raise ConfigError(
                    f'DenseContrastiveTwoView.{name} must be in [0, 1], got '
                    f'{prob}')
        self.flip_prob = float(flip_prob)
        bad = set(flip_direction) - {'horizontal', 'vertical'}
        if bad or not flip_direction:
            raise ConfigError(
                'DenseContrastiveTwoView.flip_direction must be a non-empty '
                "subset of ('horizontal', 'vertical'), got "
                f'{flip_direction!r}')
        self.flip_direction = tuple(flip_direction)
        self.rotate_prob = float(rotate_prob)
        self.rotate_range = _range(rotate_range, 'rotate_range', 0.0)
        self.scale_range = _range(scale_range, 'scale_range')
        if self.scale_range is not None and self.scale_range[0] <= 0:
            raise ConfigError(
                f'DenseContrastiveTwoView.scale_range must be positive, got '
                f'{scale_range!r}')
        self.translate = float(translate)
        self.view_pipeline = Compose([
            TRANSFORMS.build(cfg) if isinstance(cfg, dict) else cfg
            for cfg in view_pipeline
        ])
        flags = dict(bilinear=cv2.INTER_LINEAR, nearest=cv2.INTER_NEAREST)
        if interpolation not in flags:
            raise ConfigError(
                "DenseContrastiveTwoView.interpolation must be 'bilinear' or "
                f"'nearest', got {interpolation!r}")
        self.interpolation = interpolation
        self._flag = flags[interpolation]
        self.pad_val = float(pad_val)

    # geometry -----------------------------------------------------------
    def sample_affine(self, src_shape: Tuple[int, int]) -> np.ndarray:
        """Draw one view's 3x3 source -> view matrix."""
        src_h, src_w = src_shape
        out_h, out_w = self.out_size
        sx, sy = out_w / src_w, out_h / src_h
        if self.keep_ratio:
            sx = sy = min(sx, sy)
        m = _linear(sx, 0.0, 0.0, sy) @ _translation(-(src_w - 1) / 2,
                                                     -(src_h - 1) / 2)
        if np.random.rand() < self.flip_prob:
            direction = self.flip_direction[np.random.randint(
                len(self.flip_direction))]
            m = (_linear(-1, 0, 0, 1)
                 if direction == 'horizontal' else _linear(1, 0, 0, -1)) @ m
        if self.scale_range is not None:
            s = np.random.uniform(*self.scale_range)
            m = _linear(s, 0, 0, s) @ m
        if self.rotate_range is not None and np.random.rand() < \
                self.rotate_prob:
            theta = math.radians(np.random.uniform(*self.rotate_range))
            c, s_ = math.cos(theta), math.sin(theta)
            m = _linear(c, -s_, s_, c) @ m
        tx, ty = (
            np.random.uniform(-self.translate, self.translate, 2) *
            (out_w, out_h))
        return _translation((out_w - 1) / 2 + tx, (out_h - 1) / 2 + ty) @ m

    def warp(self, img: np.ndarray, affine: np.ndarray) -> np.ndarray:
        """Resample ``img`` with the source -> view matrix ``affine``."""
        out_h, out_w = self.out_size
        return cv2.warpAffine(
            img,
            affine[:2].astype(np.float64), (out_w, out_h),
            flags=self._flag,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=self.pad_val)

    def photometric(self, view: np.ndarray) -> np.ndarray:
        """Run ``view_pipeline`` on one warped view (float32 out)."""
        out = self.view_pipeline(dict(img=view, img_shape=view.shape))
        img = np.asarray(out['img'], dtype=np.float32)
        if img.shape != view.shape:
            raise ConfigError(
                f'DenseContrastiveTwoView.view_pipeline changed the view '
                f'shape {view.shape} -> {img.shape}; it may only change '
                f'intensities (geometry is done by the two-view transform)')
        return img

    def transform(self, results: Dict) -> Dict:
        """Replace ``img`` by the (2, h, w) view pair and record geometry."""
        img = results.get('img')
        if not isinstance(img, np.ndarray) or img.ndim != 2:
            shape = None if img is None else getattr(img, 'shape', type(img))
            raise ValueError(
                f'DenseContrastiveTwoView needs results["img"] as a (H, W) '
                f'array (LoadACDCSlice(with_label=False)), got {shape}')
        img = img.astype(np.float32, copy=False)
        src_shape = img.shape
        views, affines = [], []
        for _ in range(2):
            affine = self.sample_affine(src_shape)
            views.append(self.photometric(self.warp(img, affine)))
            affines.append(affine)
        results['img'] = np.stack(views)
        results['affine_q'], results['affine_k'] = affines
        results['src_shape'] = tuple(src_shape)
        results['img_shape'] = tuple(self.out_size)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(out_size={self.out_size}, '
                f'keep_ratio={self.keep_ratio}, flip_prob={self.flip_prob}, '
                f'rotate_prob={self.rotate_prob}, '
                f'rotate_range={self.rotate_range}, '
                f'scale_range={self.scale_range}, translate={self.translate}, '
                f'view_pipeline={self.view_pipeline})')


@TRANSFORMS.register_module()
class PackTwoViewInputs(BaseTransform):
    """Pack a view pair for mmengine's collate and the pre-training model.

    Output: ``inputs`` (2, h, w) float32 tensor (query, key) and
    ``data_samples`` a :class:`~mmengine.structures.BaseDataElement` holding
    ``affine_q``, ``affine_k`` ((3, 3) float64 tensors) and ``src_shape``
    ((2,) long tensor) as data fields, and ``meta_keys`` found in ``results``
    as metainfo.

    Args:
        meta_keys: keys copied into the data sample's metainfo.
    """

    def __init__(
        self,
        meta_keys: Sequence[str] = ('img_path', 'volume_id', 'slice_idx',
                                    'num_slices', 'img_shape', 'ori_shape',
                                    'labelled')
    ) -> None:
        super().__init__()
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: Dict) -> Dict:
        """Return ``dict(inputs=..., data_samples=...)``."""
        for key in ('img', 'affine_q', 'affine_k', 'src_shape'):
            if key not in results:
                raise ValueError(
                    f'PackTwoViewInputs needs results[{key!r}]; put '
                    f'DenseContrastiveTwoView before it in the pipeline')
        img = np.ascontiguousarray(results['img'], dtype=np.float32)
        sample = BaseDataElement(
            metainfo={k: results[k]
                      for k in self.meta_keys if k in results})
        sample.affine_q = torch.as_tensor(
            results['affine_q'], dtype=torch.float64)
        sample.affine_k = torch.as_tensor(
            results['affine_k'], dtype=torch.float64)
        sample.src_shape = torch.as_tensor(
            results['src_shape'], dtype=torch.long)
        return dict(inputs=torch.from_numpy(img), data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
