"""RandomAffineResize: one warp = resize + rotate + scale + flip + shift."""
from __future__ import annotations

import math

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import TRANSFORMS

import ideal_mm  # noqa: F401
from ideal_mm.datasets.transforms.geometric import RandomAffineResize
from ideal_mm.errors import ConfigError

init_default_scope('mmseg')


def coord_images(h: int, w: int):
    """Float images holding each pixel's x and y, and labels x + 1, y + 1."""
    yy, xx = np.mgrid[0:h, 0:w]
    return (xx.astype(np.float32), yy.astype(np.float32),
            (xx + 1).astype(np.uint8), (yy + 1).astype(np.uint8))


def expected_source(out_hw, src_hw, angle, scale, flip, shift):
    """Source point of every output pixel, by inverting each step by hand."""
    h, w = out_hw
    src_h, src_w = src_hw
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    x, y = u - cx - shift[0], v - cy - shift[1]  # undo the shift, centre
    if flip in ('horizontal', 'diagonal'):
        x = -x
    if flip in ('vertical', 'diagonal'):
        y = -y
    t = math.radians(angle)  # undo a clockwise rotation by t, then the zoom
    x, y = (math.cos(t) * x + math.sin(t) * y) / scale, \
        (-math.sin(t) * x + math.cos(t) * y) / scale
    x, y = x + cx, y + cy
    # undo the pixel-centre-aligned resize
    return (x + 0.5) * src_w / w - 0.5, (y + 0.5) * src_h / h - 0.5


def run(t, imgs, **params):
    x_img, y_img, x_lab, y_lab = imgs
    res_x = t.apply(
        dict(
            img=x_img.copy(),
            gt_seg_map=x_lab.copy(),
            seg_fields=['gt_seg_map']), **params)
    res_y = t.apply(
        dict(
            img=y_img.copy(),
            gt_seg_map=y_lab.copy(),
            seg_fields=['gt_seg_map']), **params)
    return res_x, res_y


@pytest.mark.parametrize('params', [
    dict(angle=17.0, scale=1.0, flip_direction=None, shift=(0.0, 0.0)),
    dict(
        angle=-12.5, scale=1.2, flip_direction='horizontal',
        shift=(3.0, -2.0)),
    dict(angle=5.0, scale=0.85, flip_direction='vertical', shift=(0.0, 4.5)),
    dict(angle=0.0, scale=1.1, flip_direction='diagonal', shift=(0.0, 0.0)),
])
def test_warp_matches_independent_coordinates(params):
    src_hw, out_hw = (50, 60), (64, 72)
    t = RandomAffineResize(out_size=out_hw)
    res_x, res_y = run(t, coord_images(*src_hw), **params)
    ex, ey = expected_source(out_hw, src_hw, params['angle'], params['scale'],
                             params['flip_direction'], params['shift'])
    inside = (ex >= 0) & (ex <= src_hw[1] - 1) & (ey >= 0) & \
        (ey <= src_hw[0] - 1)
    assert inside.mean() > 0.5
    # bilinear reproduces a linear ramp; OpenCV quantises positions to 1/32
    assert res_x['img'].dtype == np.float32
    np.testing.assert_allclose(res_x['img'][inside], ex[inside], atol=0.04)
    np.testing.assert_allclose(res_y['img'][inside], ey[inside], atol=0.04)
    # outside the slice: pad value 0 (at least one pixel away from it)
    far = (ex < -1) | (ex > src_hw[1]) | (ey < -1) | (ey > src_hw[0])
    assert far.any() or params['scale'] > 1  # zoom-in may stay inside
    assert (res_x['img'][far] == 0).all() and (res_x['gt_seg_map'][far]
                                               == 0).all()
    # nearest neighbour labels: the rounded source pixel, away from ties
    clear = inside & (np.abs(ex % 1 - 0.5) > 0.05) & \
        (np.abs(ey % 1 - 0.5) > 0.05)
    assert res_x['gt_seg_map'].dtype == np.uint8
    np.testing.assert_array_equal(res_x['gt_seg_map'][clear],
                                  np.floor(ex[clear] + 0.5) + 1)
    np.testing.assert_array_equal(res_y['gt_seg_map'][clear],
                                  np.floor(ey[clear] + 0.5) + 1)
    # the stored matrix maps source points to output points
    m = res_x['warp_matrix']
    pts = np.stack([ex[inside], ey[inside], np.ones(inside.sum())])
    v, u = np.nonzero(inside)
    np.testing.assert_allclose((m @ pts)[:2], np.stack([u, v]), atol=1e-9)


def test_identity_params_equal_plain_resize():
    rng = np.random.default_rng(0)
    img = rng.random((40, 30)).astype(np.float32)
    seg = rng.integers(0, 4, (40, 30)).astype(np.uint8)
    t = RandomAffineResize(out_size=(64, 48))
    res = t.apply(
        dict(img=img.copy(), gt_seg_map=seg.copy(), seg_fields=['gt_seg_map']))
    # independent bilinear resize with pixel centres aligned, edges clamped
    ys = np.clip((np.arange(64) + 0.5) * 40 / 64 - 0.5, 0, 39)
    xs = np.clip((np.arange(48) + 0.5) * 30 / 48 - 0.5, 0, 29)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, 39), np.minimum(x0 + 1, 29)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    ref = ((1 - fy) * ((1 - fx) * img[y0][:, x0] + fx * img[y0][:, x1]) + fy *
           ((1 - fx) * img[y1][:, x0] + fx * img[y1][:, x1]))
    np.testing.assert_allclose(res['img'], ref, atol=2e-3)
    # nearest: the source pixel whose centre is nearest
    ny = np.floor((np.arange(64) + 0.5) * 40 / 64).astype(int)
    nx = np.floor((np.arange(48) + 0.5) * 30 / 48).astype(int)
    np.testing.assert_array_equal(res['gt_seg_map'], seg[ny][:, nx])
    assert res['img_shape'] == (64, 48)
    assert res['scale_factor'] == (48 / 30, 64 / 40)
    assert res['flip'] is False and res['flip_direction'] is None


@pytest.mark.parametrize('direction,axes', [('horizontal', (1, )),
                                            ('vertical', (0, )),
                                            ('diagonal', (0, 1))])
def test_flips_equal_np_flip(direction, axes):
    rng = np.random.default_rng(1)
    img = rng.random((30, 36)).astype(np.float32)
    seg = rng.integers(0, 4, (30, 36)).astype(np.uint8)
    t = RandomAffineResize(out_size=(48, 40))
    plain = t.apply(
        dict(img=img.copy(), gt_seg_map=seg.copy(), seg_fields=['gt_seg_map']))
    flipped = t.apply(
        dict(img=img.copy(), gt_seg_map=seg.copy(), seg_fields=['gt_seg_map']),
        flip_direction=direction)
    np.testing.assert_array_equal(flipped['img'], np.flip(plain['img'], axes))
    np.testing.assert_array_equal(flipped['gt_seg_map'],
                                  np.flip(plain['gt_seg_map'], axes))
    assert flipped['flip'] is True and flipped['flip_direction'] == direction


def test_quarter_turn_is_a_clockwise_rot90():
    rng = np.random.default_rng(2)
    img = rng.random((32, 32)).astype(np.float32)
    seg = rng.integers(0, 4, (32, 32)).astype(np.uint8)
    t = RandomAffineResize(out_size=32)
    res = t.apply(
        dict(img=img.copy(), gt_seg_map=seg.copy(), seg_fields=['gt_seg_map']),
        angle=90.0)
    np.testing.assert_allclose(res['img'], np.rot90(img, -1), atol=1e-6)
    np.testing.assert_array_equal(res['gt_seg_map'], np.rot90(seg, -1))


def test_random_draws_follow_the_configured_distribution():
    t = RandomAffineResize(
        out_size=8, rotate_prob=0.5, rotate_range=20, flip_prob=0.5)
    np.random.seed(0)
    draws = [t.sample_params() for _ in range(4000)]
    angles = np.array([d['angle'] for d in draws])
    flips = [d['flip_direction'] for d in draws]
    assert abs((angles != 0).mean() - 0.5) < 0.03
    assert np.abs(angles).max() <= 20
    assert abs(flips.count('horizontal') / 4000 - 0.25) < 0.03
    assert abs(flips.count('vertical') / 4000 - 0.25) < 0.03
    assert all(d['scale'] == 1.0 and d['shift'] == (0.0, 0.0) for d in draws)
    # seeded: the same draws again
    np.random.seed(0)
    assert [t.sample_params() for _ in range(50)] == draws[:50]
    t2 = RandomAffineResize(
        out_size=(10, 20), scale_range=(0.8, 1.25), translate=0.1)
    d2 = [t2.sample_params() for _ in range(500)]
    scales = np.array([d['scale'] for d in d2])
    shifts = np.array([d['shift'] for d in d2])
    assert scales.min() >= 0.8 and scales.max() <= 1.25 and scales.std() > 0
    assert np.abs(shifts[:, 0]).max() <= 2.0 and np.abs(shifts[:, 1]).max() \
        <= 1.0


def test_built_from_config_with_multichannel_image_and_int64_labels():
    t = TRANSFORMS.build(
        dict(
            type='RandomAffineResize',
            out_size=(16, 12),
            rotate_prob=1.0,
            flip_prob=1.0))
    rng = np.random.default_rng(3)
    img = rng.random((20, 20, 6)).astype(np.float64)
    seg = rng.integers(0, 4, (20, 20)).astype(np.int64)
    res = t(dict(img=img, gt_seg_map=seg, seg_fields=['gt_seg_map']))
    assert res['img'].shape == (16, 12, 6) and res['img'].dtype == np.float32
    assert res['gt_seg_map'].shape == (16, 12)
    assert res['gt_seg_map'].dtype == np.int64
    assert set(np.unique(res['gt_seg_map'])) <= {0, 1, 2, 3}
    assert res['rotate_angle'] != 0 and res['flip'] is True


def test_config_errors():
    with pytest.raises(ConfigError, match='rotate_prob'):
        RandomAffineResize(rotate_prob=2)
    with pytest.raises(ConfigError, match='flip_direction'):
        RandomAffineResize(flip_direction=['sideways'])
    with pytest.raises(ConfigError, match='scale_range'):
        RandomAffineResize(scale_range=(1.2, 0.8))
    with pytest.raises(ConfigError, match='out_size'):
        RandomAffineResize(out_size=(0, 4))
    with pytest.raises(ConfigError, match='translate'):
        RandomAffineResize(translate=1.5)
    with pytest.raises(ValueError, match='img'):
        RandomAffineResize(out_size=4).apply(dict(img=np.zeros(3)))
