"""Two augmented views of one slice with an exact dense correspondence.

mmseg's transforms augment one image and forget the geometry; dense contrastive
learning needs two views *and* the map between them, so this module writes the
view pair, records each view's affine matrix, and turns the matrices into a
correspondence grid at whatever resolution the embeddings have
(:func:`dense_correspondence`).

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

from ideal_mm.errors import ConfigError
from ideal_mm.geometry import CellGeometry, cell_centres

Range = Tuple[float, float]


def _pair(value: Union[int, Sequence[int]], key: str) -> Tuple[int, int]:
    if isinstance(value, int):
        return value, value
    value = tuple(int(v) for v in value)
    if len(value) != 2 or min(value) < 1:
        raise ConfigError(f'{key} must be an int or (h, w) of positive ints, '
                          f'got {value!r}')
    return value  # type: ignore[return-value]


def _range(value: Optional[Union[float, Sequence[float]]], key: str,
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
                 view_pipeline: Sequence[dict] = (
                     dict(type='RandomIntensity'), ),
                 interpolation: str = 'bilinear',
                 pad_val: float = 0.0) -> None:
        super().__init__()
        self.out_size = _pair(out_size, 'DenseContrastiveTwoView.out_size')
        self.keep_ratio = bool(keep_ratio)
        for name, prob in (('flip_prob', flip_prob),
                           ('rotate_prob', rotate_prob)):
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
        self.view_pipeline = Compose(
            [TRANSFORMS.build(cfg) if isinstance(cfg, dict) else cfg
             for cfg in view_pipeline])
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
            m = (_linear(-1, 0, 0, 1) if direction == 'horizontal' else
                 _linear(1, 0, 0, -1)) @ m
        if self.scale_range is not None:
            s = np.random.uniform(*self.scale_range)
            m = _linear(s, 0, 0, s) @ m
        if self.rotate_range is not None and np.random.rand() < \
                self.rotate_prob:
            theta = math.radians(np.random.uniform(*self.rotate_range))
            c, s_ = math.cos(theta), math.sin(theta)
            m = _linear(c, -s_, s_, c) @ m
        tx, ty = (np.random.uniform(-self.translate, self.translate, 2) *
                  (out_w, out_h))
        return _translation((out_w - 1) / 2 + tx, (out_h - 1) / 2 + ty) @ m

    def warp(self, img: np.ndarray, affine: np.ndarray) -> np.ndarray:
        """Resample ``img`` with the source -> view matrix ``affine``."""
        out_h, out_w = self.out_size
        return cv2.warpAffine(
            img, affine[:2].astype(np.float64), (out_w, out_h),
            flags=self._flag, borderMode=cv2.BORDER_CONSTANT,
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

    def __init__(self,
                 meta_keys: Sequence[str] = ('img_path', 'volume_id',
                                             'slice_idx', 'num_slices',
                                             'img_shape', 'ori_shape',
                                             'labelled')) -> None:
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
            metainfo={k: results[k] for k in self.meta_keys if k in results})
        sample.affine_q = torch.as_tensor(results['affine_q'],
                                          dtype=torch.float64)
        sample.affine_k = torch.as_tensor(results['affine_k'],
                                          dtype=torch.float64)
        sample.src_shape = torch.as_tensor(results['src_shape'],
                                           dtype=torch.long)
        return dict(inputs=torch.from_numpy(img), data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'


def dense_correspondence(affine_q: torch.Tensor,
                         affine_k: torch.Tensor,
                         src_shape: torch.Tensor,
                         view_shape: Sequence[int],
                         grid_shape: Sequence[int],
                         stride: Optional[Union[float,
                                                Sequence[float]]] = None,
                         offset: Optional[Union[float,
                                                Sequence[float]]] = None,
                         key_grid_shape: Optional[Sequence[int]] = None
                         ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Key-view location of every query grid cell, and whether it is valid.

    The query view (size ``view_shape`` = (h, w)) carries a ``grid_shape`` =
    (Hg, Wg) grid of cells (the embedding grid). Cell (i, j) is centred at
    query pixel ``x = offset + stride * j`` (same for y with i) as the
    encoder's architecture places it (:mod:`ideal_mm.geometry`;
    ``DenseContrastivePretrainer`` passes its backbone's geometry). Without
    ``stride``/``offset`` the grid is centre-aligned, ``x = (j + 0.5) * w /
    Wg - 0.5``: equal cells covering the view, right for 2x2-pooling encoders
    (the UNet) and off by up to half a cell for strided convolutions (ResNet,
    MiT), which centre cell j at ``stride * j``. The cell's source point is
    ``inv(A_q) @ p`` and its key point ``A_k @ inv(A_q) @ p``.

    A cell is valid when the source point lies within the slice's pixel
    centres (``0 <= xs <= W - 1``, ``0 <= ys <= H - 1``) and the key point
    within the key view's (``0 <= xk <= w - 1``, ``0 <= yk <= h - 1``). With
    an explicit geometry the query centre must also lie within the query view
    and the key point between the first and last key cell centres (where
    ``grid_sample`` interpolates between cells instead of clamping to the
    border cell).

    Args:
        affine_q, affine_k: (B, 3, 3) source -> view matrices.
        src_shape: (B, 2) slice sizes (H, W).
        view_shape: (h, w) of both views.
        grid_shape: (Hg, Wg) of the query embedding grid.
        stride, offset: cell geometry in view pixels, numbers or (y, x)
            pairs; both or neither (centre-aligned).
        key_grid_shape: (Hk, Wk) of the key embedding grid (default
            ``grid_shape``); used with an explicit geometry only.

    Returns:
        ``corr`` (B, Hg, Wg, 2) float32: the key point as (x, y) in
        ``grid_sample``'s ``align_corners=False`` coordinates of the key
        embedding grid, so ``grid_sample(k, corr)`` reads the key embedding at
        the key point. With the centre-aligned grid these are the key view's
        normalised coordinates (``u = (2 * x + 1) / w - 1``), the same for a
        key grid of any size; with an explicit geometry ``u = (2 * (x -
        offset) / stride + 1) / Wk - 1``. And ``valid`` (B, Hg, Wg) bool.
    """
    h, w = (int(v) for v in view_shape)
    hg, wg = (int(v) for v in grid_shape)
    explicit = stride is not None or offset is not None
    if explicit and (stride is None or offset is None):
        raise ValueError('dense_correspondence: give both stride and offset, '
                         f'or neither; got stride={stride!r}, '
                         f'offset={offset!r}')
    device = affine_q.device
    aq = affine_q.to(torch.float64)
    ak = affine_k.to(torch.float64)
    if explicit:
        geom = CellGeometry(stride, offset)  # type: ignore[arg-type]
        ys, xs = geom.centres((hg, wg), device=device)
    else:
        ys = cell_centres(hg, h, device=device)
        xs = cell_centres(wg, w, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing='ij')
    pts = torch.stack([gx, gy, torch.ones_like(gx)], dim=-1).reshape(-1, 3)
    src = torch.einsum('bij,nj->bni', torch.linalg.inv(aq), pts)
    key = torch.einsum('bij,bnj->bni', ak, src)
    src_hw = src_shape.to(device=device, dtype=torch.float64)
    src_ok = ((src[..., 0] >= 0) & (src[..., 0] <= src_hw[:, None, 1] - 1) &
              (src[..., 1] >= 0) & (src[..., 1] <= src_hw[:, None, 0] - 1))
    key_ok = ((key[..., 0] >= 0) & (key[..., 0] <= w - 1) &
              (key[..., 1] >= 0) & (key[..., 1] <= h - 1))
    if explicit:
        hk, wk = (int(v) for v in (key_grid_shape or grid_shape))
        # key point in key-grid cell units (fractional column, row)
        col = (key[..., 0] - geom.offset[1]) / geom.stride[1]
        row = (key[..., 1] - geom.offset[0]) / geom.stride[0]
        key_ok &= (col >= 0) & (col <= wk - 1) & (row >= 0) & (row <= hk - 1)
        query_ok = ((pts[:, 0] >= 0) & (pts[:, 0] <= w - 1) &
                    (pts[:, 1] >= 0) & (pts[:, 1] <= h - 1))
        src_ok &= query_ok[None]
        norm = torch.stack([(2 * col + 1) / wk - 1, (2 * row + 1) / hk - 1],
                           dim=-1)
    else:
        norm = torch.stack([(2 * key[..., 0] + 1) / w - 1,
                            (2 * key[..., 1] + 1) / h - 1], dim=-1)
    b = aq.shape[0]
    corr = norm.reshape(b, hg, wg, 2).to(torch.float32)
    valid = (src_ok & key_ok).reshape(b, hg, wg)
    return corr, valid
