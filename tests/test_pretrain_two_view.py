"""DenseContrastiveTwoView: the recorded correspondence is exact for every
geometric augmentation, and the packed batch reaches the model's format."""
import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS, TRANSFORMS

from ideal_mm.datasets.transforms.two_view import dense_correspondence

init_default_scope('mmseg')

SRC_H, SRC_W = 45, 60
OUT = (48, 64)
NO_GEOMETRY = dict(
    flip_prob=0.0, rotate_prob=0.0, scale_range=None, translate=0.0)
KINDS = {
    'resize_only': {},
    'hflip':
    dict(flip_prob=1.0, flip_direction=('horizontal', )),
    'vflip':
    dict(flip_prob=1.0, flip_direction=('vertical', )),
    'rotation':
    dict(rotate_prob=1.0, rotate_range=(-90, 90)),
    'scale':
    dict(scale_range=(0.6, 1.6)),
    'crop_shift':
    dict(scale_range=(1.3, 1.3), translate=0.3),
    'keep_ratio':
    dict(keep_ratio=True, scale_range=(0.7, 1.4)),
    'all':
    dict(
        flip_prob=0.5,
        rotate_prob=1.0,
        rotate_range=45,
        scale_range=(0.7, 1.4),
        translate=0.2),
}


def run_transform(cfg, img, seed):
    np.random.seed(seed)
    return TRANSFORMS.build(cfg)(dict(img=img.copy()))


def sample(view, xy_norm):
    """Bilinear sample of an (h, w) view at normalised (x, y) points (N, 2)."""
    grid = xy_norm.reshape(1, 1, -1, 2).float()
    return F.grid_sample(
        view[None, None], grid, mode='bilinear',
        align_corners=False).reshape(-1)


@pytest.mark.parametrize('kind', sorted(KINDS))
@pytest.mark.parametrize('grid', [OUT, (OUT[0] // 16, OUT[1] // 16)])
def test_coordinate_images_land_where_the_correspondence_says(kind, grid):
    """The source x- and y-coordinate images (linear, so bilinear resampling
    is exact) are carried through the transform with the same random draws;
    at each query grid cell centre the query view names a source pixel, and
    the key view at the corresponding key location names the same one."""
    cfg = dict(
        type='DenseContrastiveTwoView',
        out_size=OUT,
        view_pipeline=[],
        **{
            **NO_GEOMETRY,
            **KINDS[kind]
        })
    ys, xs = np.mgrid[0:SRC_H, 0:SRC_W].astype(np.float32)
    checked = 0
    for seed in range(4):
        rx = run_transform(cfg, xs, seed)
        ry = run_transform(cfg, ys, seed)
        np.testing.assert_array_equal(rx['affine_q'], ry['affine_q'])
        np.testing.assert_array_equal(rx['affine_k'], ry['affine_k'])
        assert rx['img'].shape == (2, *OUT) and rx['img'].dtype == np.float32
        corr, valid = dense_correspondence(
            torch.as_tensor(rx['affine_q'])[None],
            torch.as_tensor(rx['affine_k'])[None],
            torch.tensor([[SRC_H, SRC_W]]), OUT, grid)
        corr, valid = corr[0].reshape(-1, 2), valid[0].reshape(-1)
        # query cell centres, normalised in the query view
        hg, wg = grid
        cy = (torch.arange(hg) + 0.5) / hg * 2 - 1
        cx = (torch.arange(wg) + 0.5) / wg * 2 - 1
        gy, gx = torch.meshgrid(cy, cx, indexing='ij')
        centres = torch.stack([gx, gy], -1).reshape(-1, 2)
        views_x = torch.from_numpy(rx['img'])
        views_y = torch.from_numpy(ry['img'])
        qx, qy = sample(views_x[0], centres), sample(views_y[0], centres)
        kx, ky = sample(views_x[1], corr), sample(views_y[1], corr)
        # away from the slice border no padding enters the interpolation
        inner = valid & (qx > 2) & (qx < SRC_W - 3) & (qy > 2) & \
            (qy < SRC_H - 3)
        # near the key view border grid_sample mixes in its zero padding
        inner &= (corr.abs() < 1 - 2.5 / min(OUT)).all(dim=1)
        torch.testing.assert_close(kx[inner], qx[inner], atol=0.05, rtol=0)
        torch.testing.assert_close(ky[inner], qy[inner], atol=0.05, rtol=0)
        # nearest key pixel holds (within half a source pixel per axis) the
        # same source pixel as the query cell
        kpix = ((corr[inner] + 1) * torch.tensor([OUT[1], OUT[0]]) - 1) / 2
        kcol, krow = kpix[:, 0].round().long(), kpix[:, 1].round().long()
        near_x = views_x[1][krow, kcol]
        near_y = views_y[1][krow, kcol]
        scale = torch.linalg.matrix_norm(
            torch.linalg.inv(torch.as_tensor(rx['affine_k'])[:2, :2]), ord=2)
        assert (near_x - qx[inner]).abs().max() <= 0.75 * scale + 0.05
        assert (near_y - qy[inner]).abs().max() <= 0.75 * scale + 0.05
        checked += int(inner.sum())
    assert checked > 0.2 * 4 * grid[0] * grid[1]


def test_views_differ_and_invalid_cells_are_outside():
    cfg = dict(
        type='DenseContrastiveTwoView',
        out_size=OUT,
        view_pipeline=[],
        rotate_prob=1.0,
        rotate_range=(60, 60),
        scale_range=(0.5, 0.5),
        flip_prob=0.0,
        translate=0.0)
    img = np.random.RandomState(0).rand(SRC_H, SRC_W).astype(np.float32)
    r = run_transform(cfg, img, 0)
    corr, valid = dense_correspondence(
        torch.as_tensor(r['affine_q'])[None],
        torch.as_tensor(r['affine_k'])[None], torch.tensor([[SRC_H, SRC_W]]),
        OUT, OUT)
    # zoomed out by 2: the slice covers about a quarter of the view, the
    # padding outside it is never valid
    frac = valid.float().mean().item()
    assert 0.15 < frac < 0.35
    query = torch.from_numpy(r['img'][0])
    assert (query[~valid[0]] == 0).float().mean() > 0.95


def test_pack_collate_and_preprocessor_produce_model_inputs():
    pipeline = [
        TRANSFORMS.build(dict(type='DenseContrastiveTwoView', out_size=32)),
        TRANSFORMS.build(dict(type='PackTwoViewInputs')),
    ]
    batch = []
    for i in range(3):
        results = dict(
            img=np.random.rand(40, 30).astype(np.float32),
            img_path=f'p{i}.npy',
            slice_idx=i,
            volume_id='v')
        for t in pipeline:
            results = t(results)
        batch.append(results)
    data = pseudo_collate(batch)
    pre = MODELS.build(dict(type='TwoViewDataPreprocessor', mean=0.5, std=2.0))
    out = pre(data, training=True)
    assert out['inputs'].shape == (3, 2, 32, 32)
    assert out['inputs'].dtype == torch.float32
    expected = (torch.stack(data['inputs']) - 0.5) / 2.0
    torch.testing.assert_close(out['inputs'], expected)
    sample0 = out['data_samples'][0]
    assert sample0.affine_q.shape == (3, 3) and sample0.affine_q.dtype == \
        torch.float64
    assert sample0.src_shape.tolist() == [40, 30]
    assert sample0.slice_idx == 0 and sample0.img_path == 'p0.npy'
    with pytest.raises(ValueError, match='DenseContrastiveTwoView'):
        TRANSFORMS.build(dict(type='PackTwoViewInputs'))(
            dict(img=np.zeros((2, 4, 4))))
