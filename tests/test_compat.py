"""ideal_mm.compat: the mmcv.ops stand-in and weights_only checkpoint loading."""
import io
import os
import pickle

import numpy as np
import pytest
import torch

import ideal_mm  # noqa: F401
from ideal_mm.compat import mmcv_has_compiled_ops
from ideal_mm.compat import mmcv_ops as stand_in

needs_stand_in = pytest.mark.skipif(
    mmcv_has_compiled_ops(), reason='full mmcv is installed: no stand-in')
needs_full_mmcv = pytest.mark.skipif(
    not mmcv_has_compiled_ops(),
    reason='full mmcv with compiled ops is not installed '
    '(make install-mmcv-full builds it)')


def _bilinear(img: np.ndarray, x: float, y: float) -> float:
    """Independent bilinear sample of img (H, W) at pixel coords, zero pad."""
    h, w = img.shape
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    val = 0.0
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                val += wy * wx * img[yy, xx]
    return val


def test_point_sample_matches_bilinear_interpolation():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(2, 3, 7, 9)).astype(np.float32)
    points = rng.uniform(0.05, 0.95, size=(2, 5, 2)).astype(np.float32)
    out = stand_in.point_sample(torch.from_numpy(img), torch.from_numpy(points))
    assert out.shape == (2, 3, 5)
    for n in range(2):
        for p in range(5):
            # align_corners=False: normalised [0, 1] -> pixel coords p*W - 0.5
            x = points[n, p, 0] * 9 - 0.5
            y = points[n, p, 1] * 7 - 0.5
            for c in range(3):
                expected = _bilinear(img[n, c], x, y)
                assert out[n, c, p].item() == pytest.approx(expected, abs=1e-5)


def _focal_reference(x, t, gamma, alpha, weight=None):
    n, c = x.shape
    p = 1 / (1 + np.exp(-x))
    loss = np.zeros_like(x)
    for i in range(n):
        for j in range(c):
            if t[i] == j:
                loss[i, j] = -alpha * (1 - p[i, j])**gamma * np.log(p[i, j])
            else:
                loss[i, j] = -(1 - alpha) * p[i, j]**gamma * np.log(1 - p[i, j])
            if weight is not None:
                loss[i, j] *= weight[t[i]]
    return loss


@pytest.mark.parametrize('reduction', ['none', 'sum', 'mean'])
def test_sigmoid_focal_loss_matches_formula(reduction):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 4))
    t = np.array([0, 1, 2, 3, 4, 2])  # 4 == background: all negatives
    weight = np.array([1.0, 2.0, 0.5, 3.0, 1.0])
    ref = _focal_reference(x, t, 2.0, 0.25, weight)
    out = stand_in.sigmoid_focal_loss(
        torch.from_numpy(x), torch.from_numpy(t), 2.0, 0.25,
        torch.from_numpy(weight), reduction)
    expected = {'none': ref, 'sum': ref.sum(), 'mean': ref.sum() / 6}[reduction]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_sigmoid_focal_loss_rejects_unknown_reduction():
    with pytest.raises(ValueError, match='reduction'):
        stand_in.sigmoid_focal_loss(torch.zeros(2, 3), torch.zeros(2), 2.0,
                                    0.25, None, 'avg')


@needs_stand_in
def test_stand_in_is_active_and_mmseg_imports():
    import mmcv
    import mmseg.models  # noqa: F401  (fails without the stand-in)
    from mmseg.models.decode_heads import cc_head
    assert ideal_mm.compat.MMCV_OPS_STAND_IN
    assert mmcv.ops.IDEAL_MM_STAND_IN
    # mmseg's own guard turns the missing op into None
    assert cc_head.CrissCrossAttention is None


@needs_stand_in
def test_missing_op_error_names_the_op_and_the_fix():
    with pytest.raises(ModuleNotFoundError) as info:
        from mmcv.ops import DeformConv2d  # noqa: F401
    message = str(info.value)
    assert 'DeformConv2d' in message
    assert 'make install-mmcv-full' in message
    # dunder look-ups stay AttributeErrors (hasattr, pickling, inspect)
    import mmcv
    assert not hasattr(mmcv.ops, '__wrapped__')


@needs_full_mmcv
def test_full_mmcv_is_used_unpatched():
    import mmcv.ops
    assert not ideal_mm.compat.MMCV_OPS_STAND_IN
    assert not getattr(mmcv.ops, 'IDEAL_MM_STAND_IN', False)
    img = torch.randn(1, 2, 5, 6)
    pts = torch.rand(1, 4, 2)
    torch.testing.assert_close(
        stand_in.point_sample(img, pts), mmcv.ops.point_sample(img, pts))


def test_mmengine_types_load_with_weights_only(tmp_path):
    from mmengine.logging import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(2.5)
    ckpt = {
        'empty': HistoryBuffer(),
        'meta': {'iter': 3, 'best': np.float64(0.7), 'arr': np.arange(3)},
        'message_hub': {'log_scalars': {'train/loss': buf}},
        'state_dict': {'w': torch.ones(2)},
    }
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == 2.0
    assert loaded['meta']['best'] == pytest.approx(0.7)
    np.testing.assert_array_equal(loaded['meta']['arr'], np.arange(3))


class _RunsCode:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_code_in_a_pickle_is_still_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        torch.save({'x': _RunsCode()}, f)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    # and loading with default arguments is weights_only on torch >= 2.6
    if tuple(int(v) for v in torch.__version__.split('.')[:2]) >= (2, 6):
        with pytest.raises(pickle.UnpicklingError):
            torch.load(io.BytesIO(path.read_bytes()))


class _GetattrOther:
    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    from mmengine.logging import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(4.0)
    path = tmp_path / 'ok.pth'
    torch.save(buf, path)
    assert torch.load(path, weights_only=True).statistics('mean') == 4.0
    path = tmp_path / 'other.pth'
    torch.save({'x': _GetattrOther()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
