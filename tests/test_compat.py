"""ideal_mm.compat: the mmcv.ops stand-in and weights_only checkpoint
loading."""
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
    out = stand_in.point_sample(
        torch.from_numpy(img), torch.from_numpy(points))
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
                loss[i,
                     j] = -(1 - alpha) * p[i, j]**gamma * np.log(1 - p[i, j])
            if weight is not None:
                loss[i, j] *= weight[t[i]]
    return loss


@pytest.mark.parametrize('reduction', ['none', 'sum', 'mean'])
def test_sigmoid_focal_loss_matches_formula(reduction):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 4))
    t = np.array([0, 1, 2, 3, 1, 2])
    weight = np.array([1.0, 2.0, 0.5, 3.0])  # per class: (C,) as mmcv asserts
    ref = _focal_reference(x, t, 2.0, 0.25, weight)
    out = stand_in.sigmoid_focal_loss(
        torch.from_numpy(x), torch.from_numpy(t), 2.0, 0.25,
        torch.from_numpy(weight), reduction)
    expected = {
        'none': ref,
        'sum': ref.sum(),
        'mean': ref.sum() / 6
    }[reduction]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_sigmoid_focal_loss_background_target_is_all_negative():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4))
    t = np.array([4, 0, 4])  # 4 == C: background, every class negative
    ref = _focal_reference(x, t, 2.0, 0.25)
    out = stand_in.sigmoid_focal_loss(
        torch.from_numpy(x), torch.from_numpy(t), 2.0, 0.25, None, 'none')
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6)


@pytest.mark.parametrize(
    'args, message', [
        ((torch.zeros(2, 3), torch.zeros(2, dtype=torch.int32)), 'int64'),
        ((torch.zeros(2, 3, 1), torch.zeros(2,
                                            dtype=torch.long)), r'\(N, C\)'),
        ((torch.zeros(2, 3), torch.zeros(2, 1, dtype=torch.long)), r'\(N,\)'),
        ((torch.zeros(2, 3), torch.zeros(3, dtype=torch.long)), 'rows'),
        ((torch.zeros(2, 3), torch.zeros(
            2, dtype=torch.long), 2.0, 0.25, torch.ones(4)), 'weight'),
        ((torch.zeros(2, 3), torch.zeros(
            2, dtype=torch.long), 2.0, 0.25, None, 'avg'), 'reduction'),
    ],
    ids=[
        'target_int32', 'input_3d', 'target_2d', 'lengths', 'weight_size',
        'reduction'
    ])
def test_sigmoid_focal_loss_rejects_what_mmcv_asserts(args, message):
    """mmcv's op asserts on these inputs: the stand-in raises
    AssertionError."""
    with pytest.raises(AssertionError, match=message):
        stand_in.sigmoid_focal_loss(*args)


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


@needs_stand_in
def test_missing_op_keeps_the_exception_types_of_mmcv_and_modules():
    """Import statements see ModuleNotFoundError (what mmseg's guards catch,
    and what importing mmcv.ops raises on mmcv-lite); attribute probes see
    the AttributeError of any module, so hasattr/getattr(default) work."""
    import mmcv
    assert not hasattr(mmcv.ops, 'DeformConv2d')
    assert getattr(mmcv.ops, 'PSAMask', None) is None
    with pytest.raises(AttributeError, match='make install-mmcv-full'):
        mmcv.ops.CrissCrossAttention  # noqa: B018
    with pytest.raises(ModuleNotFoundError) as info:
        from mmcv.ops import CrissCrossAttention, point_sample  # noqa: F401
    assert info.value.name == 'mmcv.ops.CrissCrossAttention'
    with pytest.raises(ImportError):  # except ImportError guards too
        exec('from mmcv.ops import SyncBatchNorm', {})
    from mmcv.ops import point_sample  # noqa: F401,F811  (provided)


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
        'meta': {
            'iter': 3,
            'best': np.float64(0.7),
            'arr': np.arange(3)
        },
        'message_hub': {
            'log_scalars': {
                'train/loss': buf
            }
        },
        'state_dict': {
            'w': torch.ones(2)
        },
    }
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == 2.0
    assert loaded['meta']['best'] == pytest.approx(0.7)
    np.testing.assert_array_equal(loaded['meta']['arr'], np.arange(3))


class _RunsCode:

    def __reduce__(self):
        return (os.system, ('echo pwned', ))


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


# --- the library's exception types stay (ISSUE 16) ---------------------------
# mmengine raises FileNotFoundError for a missing local checkpoint and torch
# raises pickle.UnpicklingError / RuntimeError / EOFError for refused or
# corrupt files; with ideal_mm's loader the same types are raised, with its
# message (mmseg's own tests catch OSError around init_weights()).


def test_missing_checkpoint_is_a_file_not_found_error_with_the_message():
    import errno

    from mmengine.model import BaseModule
    from mmengine.runner.checkpoint import (CheckpointLoader, _load_checkpoint,
                                            load_checkpoint)

    from ideal_mm.errors import CheckpointError, CheckpointNotFoundError
    path = 'PATH_THAT_DO_NOT_EXIST'
    for load in (lambda: CheckpointLoader.load_checkpoint(path),
                 lambda: _load_checkpoint(path),
                 lambda: load_checkpoint(torch.nn.Linear(2, 2), path)):
        with pytest.raises(FileNotFoundError, match='does not exist') as info:
            load()
        assert isinstance(info.value, OSError)
        assert isinstance(info.value, CheckpointError)
        assert info.value.errno == errno.ENOENT
        assert str(info.value).startswith(f"checkpoint '{path}' does not")
    # init_cfg=Pretrained, as in mmseg's test_vit_init and friends
    module = BaseModule(init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(OSError):
        module.init_weights()
    err = CheckpointNotFoundError('gone')
    assert str(err) == 'gone'
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is CheckpointNotFoundError and str(copy) == 'gone'


def _saved_bytes(**kwargs) -> bytes:
    buf = io.BytesIO()
    torch.save({'w': torch.ones(64)}, buf, **kwargs)
    return buf.getvalue()


CORRUPT_FILES = [
    ('empty', b''),
    ('cut_zip', _saved_bytes()[:300]),
    ('not_a_zip', b'hello, this is no checkpoint\n' * 8),
    ('cut_legacy', _saved_bytes(_use_new_zipfile_serialization=False)[:30]),
    ('random',
     bytes(np.random.default_rng(0).integers(0, 256, 999, dtype=np.uint8))),
]


@pytest.mark.parametrize(
    'name, data', CORRUPT_FILES, ids=[name for name, _ in CORRUPT_FILES])
def test_corrupt_checkpoint_keeps_the_type_torch_raises(tmp_path, name, data):
    from mmengine.runner.checkpoint import CheckpointLoader

    from ideal_mm.errors import CheckpointCorruptError
    path = tmp_path / f'{name}.pth'
    path.write_bytes(data)
    with pytest.raises(Exception) as plain:
        torch.load(path, weights_only=True)
    with pytest.raises(CheckpointCorruptError) as ours:
        CheckpointLoader.load_checkpoint(str(path))
    assert isinstance(ours.value,
                      type(plain.value)), (type(ours.value).__mro__,
                                           type(plain.value))
    assert ours.value.library_type is type(plain.value) or \
        type(plain.value) is RuntimeError
    assert str(ours.value).startswith(f'cannot read {path} as a PyTorch')
    copy = pickle.loads(pickle.dumps(ours.value))
    assert type(copy) is type(ours.value) and str(copy) == str(ours.value)


def test_refused_checkpoint_is_an_unpickling_error(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader

    from ideal_mm.errors import CheckpointUnsafeError
    path = tmp_path / 'evil.pth'
    torch.save({'x': _RunsCode()}, path)
    with pytest.raises(
            pickle.UnpicklingError,
            match='refusing to load .*posix.system') as info:
        CheckpointLoader.load_checkpoint(str(path))
    assert isinstance(info.value, CheckpointUnsafeError)
