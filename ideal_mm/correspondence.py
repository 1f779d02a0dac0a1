"""Dense correspondence between two affine views of one slice.

For every cell of the query view's embedding grid: its point in the key view
(in ``grid_sample`` coordinates of the key embedding grid) and whether that
point is valid. Both the two-view transform (data) and the dense pre-trainer
(models) need it, so it lives here, next to :mod:`ideal_mm.geometry`, and
imports nothing from ideal_mm but the geometry.

Coordinates: pixel centres are at integer coordinates ``(x, y)`` (column,
row), as in OpenCV. A view's 3x3 matrix ``A`` maps source pixel coordinates
to view pixel coordinates (``cv2.warpAffine(src, A[:2], ...)`` produces the
view). ``ideal_mm/datasets/transforms/two_view.py`` still holds an identical
copy (that folder is reserved for the data-layer issue #12, which replaces
the copy with an import of this one; tests/test_import_graph.py checks the
two agree until then).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch

from ideal_mm.geometry import CellGeometry, cell_centres

__all__ = ['dense_correspondence']


def dense_correspondence(
    affine_q: torch.Tensor,
    affine_k: torch.Tensor,
    src_shape: torch.Tensor,
    view_shape: Sequence[int],
    grid_shape: Sequence[int],
    stride: Optional[Union[float, Sequence[float]]] = None,
    offset: Optional[Union[float, Sequence[float]]] = None,
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
    key_ok = ((key[..., 0] >= 0) & (key[..., 0] <= w - 1) & (key[..., 1] >= 0)
              & (key[..., 1] <= h - 1))
    if explicit:
        hk, wk = (int(v) for v in (key_grid_shape or grid_shape))
        # key point in key-grid cell units (fractional column, row)
        col = (key[..., 0] - geom.offset[1]) / geom.stride[1]
        row = (key[..., 1] - geom.offset[0]) / geom.stride[0]
        key_ok &= (col >= 0) & (col <= wk - 1) & (row >= 0) & (row <= hk - 1)
        query_ok = ((pts[:, 0] >= 0) & (pts[:, 0] <= w - 1) & (pts[:, 1] >= 0)
                    & (pts[:, 1] <= h - 1))
        src_ok &= query_ok[None]
        norm = torch.stack([(2 * col + 1) / wk - 1, (2 * row + 1) / hk - 1],
                           dim=-1)
    else:
        norm = torch.stack([(2 * key[..., 0] + 1) / w - 1,
                            (2 * key[..., 1] + 1) / h - 1],
                           dim=-1)
    b = aq.shape[0]
    corr = norm.reshape(b, hg, wg, 2).to(torch.float32)
    valid = (src_ok & key_ok).reshape(b, hg, wg)
    return corr, valid
