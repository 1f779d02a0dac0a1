"""LoadACDCSlice, RandomIntensity, and mmseg's geometric transforms on float
slices."""
from __future__ import annotations

import os
import pickle

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import TRANSFORMS

import ideal_mm  # noqa: F401
from ideal_mm.datasets.acdc import ACDCDataset
from ideal_mm.datasets.transforms import loading
from ideal_mm.datasets.transforms.intensity import RandomIntensity
from ideal_mm.datasets.transforms.loading import LoadACDCSlice
from ideal_mm.errors import ConfigError, DataError

init_default_scope('mmseg')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'volume_id',
             'slice_idx', 'num_slices', 'spacing', 'labelled')


@pytest.fixture
def volumes(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.random((4, 10, 12), dtype=np.float32)
    gt = rng.integers(0, 4, (4, 10, 12)).astype(np.uint8)
    paths = dict(
        img=str(tmp_path / 'v_img.npy'), gt=str(tmp_path / 'v_gt.npy'))
    np.save(paths['img'], img)
    np.save(paths['gt'], gt)
    return img, gt, paths


def _spy_np_load(monkeypatch):
    opened = []
    real = np.load

    def spy(path, *args, **kwargs):
        opened.append(os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(loading.np, 'load', spy)
    return opened


def test_load_slice_copies_one_slice(volumes):
    img, gt, paths = volumes
    t = TRANSFORMS.build(dict(type='LoadACDCSlice'))
    res = t(
        dict(
            img_path=paths['img'],
            seg_map_path=paths['gt'],
            slice_idx=2,
            seg_fields=[]))
    assert res['img'].dtype == np.float32 and res['img'].shape == (10, 12)
    np.testing.assert_array_equal(res['img'], img[2])
    np.testing.assert_array_equal(res['gt_seg_map'], gt[2])
    assert res['gt_seg_map'].dtype == np.uint8
    assert res['seg_fields'] == ['gt_seg_map']
    assert res['ori_shape'] == res['img_shape'] == (10, 12)
    assert not isinstance(res['img'], np.memmap) and res['img'].flags.writeable
    res['img'][:] = -1  # a copy: the cached volume is untouched
    np.testing.assert_array_equal(np.load(paths['img'])[2], img[2])


def test_unlabelled_never_opens_labels(volumes, monkeypatch):
    _, _, paths = volumes
    opened = _spy_np_load(monkeypatch)
    res = LoadACDCSlice()(
        dict(
            img_path=paths['img'],
            seg_map_path=None,
            slice_idx=0,
            seg_fields=[]))
    assert 'gt_seg_map' not in res and res['seg_fields'] == []
    res = LoadACDCSlice(with_label=False)(
        dict(img_path=paths['img'], seg_map_path=paths['gt'], slice_idx=1))
    assert 'gt_seg_map' not in res
    assert opened == [paths['img']] * 2  # each transform opened the image only


def test_memmaps_cached_lru_and_not_pickled(volumes, tmp_path, monkeypatch):
    img, _, paths = volumes
    opened = _spy_np_load(monkeypatch)
    t = LoadACDCSlice(with_label=False, max_open=2)
    for k in range(4):
        t(dict(img_path=paths['img'], slice_idx=k))
    assert opened == [paths['img']]  # opened once, then reused
    others = []
    for i in range(2):
        p = str(tmp_path / f'o{i}.npy')
        np.save(p, img)
        others.append(p)
        t(dict(img_path=p, slice_idx=0))
    assert list(t._maps) == others  # least recently used evicted
    clone = pickle.loads(pickle.dumps(t))
    assert len(clone._maps) == 0 and clone.max_open == 2


def test_load_slice_errors(volumes, tmp_path):
    _, _, paths = volumes
    with pytest.raises(DataError, match='slice 9'):
        LoadACDCSlice()(dict(img_path=paths['img'], slice_idx=9))
    missing = str(tmp_path / 'gone_img.npy')
    with pytest.raises(DataError, match='gone_img.npy'):
        LoadACDCSlice()(dict(img_path=missing, slice_idx=0))
    with pytest.raises(ConfigError, match='max_open'):
        LoadACDCSlice(max_open=0)


def _only(**kwargs):
    probs = dict(
        gamma_prob=0,
        contrast_prob=0,
        brightness_prob=0,
        noise_prob=0,
        blur_prob=0)
    probs.update(kwargs)
    return RandomIntensity(**probs)


def test_random_intensity_each_step():
    rng = np.random.default_rng(1)
    img = rng.random((20, 24), dtype=np.float32) * 0.8 + 0.1
    lo, hi = img.min(), img.max()
    out = _only()(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(out, img)
    out = _only(gamma_prob=1, gamma_range=(2, 2))(dict(img=img.copy()))['img']
    np.testing.assert_allclose(
        out, lo + (hi - lo) * ((img - lo) / (hi - lo))**2, atol=1e-6)
    out = _only(
        contrast_prob=1,
        contrast_range=(1.5, 1.5))(dict(img=img.copy()))['img']
    np.testing.assert_allclose(
        out, img.mean() + 1.5 * (img - img.mean()), atol=1e-6)
    out = _only(
        brightness_prob=1,
        brightness_range=(0.2, 0.2))(dict(img=img.copy()))['img']
    np.testing.assert_allclose(out, img + 0.2, atol=1e-6)
    out = _only(
        blur_prob=1, blur_sigma_range=(1.0, 1.0))(dict(img=img.copy()))['img']
    np.testing.assert_allclose(
        out,
        cv2.GaussianBlur(img, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT_101),
        atol=1e-6)
    np.random.seed(0)
    big = np.full((200, 200), 0.5, np.float32)
    out = _only(
        noise_prob=1, noise_std_range=(0.05, 0.05))(dict(img=big))['img']
    assert abs(float((out - 0.5).std()) - 0.05) < 0.003
    for step in (dict(), dict(gamma_prob=1), dict(noise_prob=1, blur_prob=1)):
        assert _only(**step)(dict(img=img.copy()))['img'].dtype == np.float32


def test_random_intensity_bad_params():
    with pytest.raises(ConfigError, match='gamma_prob'):
        RandomIntensity(gamma_prob=1.5)
    with pytest.raises(ConfigError, match='gamma_range'):
        RandomIntensity(gamma_range=(1.5, 0.7))
    with pytest.raises(ConfigError, match='noise_std_range'):
        RandomIntensity(noise_std_range=0.1)
    assert TRANSFORMS.get('RandomIntensity') is RandomIntensity


def test_mmseg_geometry_and_packing_on_float_slices():
    """mmseg's Resize / RandomRotate / RandomFlip / PackSegInputs handle
    float32 (H, W) images, so ideal_mm needs no replacements for them."""
    rng = np.random.default_rng(2)
    img = rng.random((7, 7), dtype=np.float32)
    gt = (np.arange(49).reshape(7, 7) % 4).astype(np.uint8)

    def run(cfg):
        return TRANSFORMS.build(cfg)(
            dict(
                img=img.copy(),
                gt_seg_map=gt.copy(),
                seg_fields=['gt_seg_map']))

    res = run(dict(type='Resize', scale=(16, 12), keep_ratio=False))
    assert res['img'].dtype == np.float32 and res['img'].shape == (12, 16)
    assert res['gt_seg_map'].shape == (12, 16)
    assert set(np.unique(res['gt_seg_map'])) <= {0, 1, 2, 3}  # nearest
    assert img.min() - 1e-6 <= res['img'].min() <= res['img'].max() <= \
        img.max() + 1e-6
    res = run(
        dict(
            type='RandomRotate',
            prob=1.,
            degree=(90, 90),
            pad_val=0,
            seg_pad_val=0))
    assert res['img'].dtype == np.float32
    k = 1 if np.allclose(res['img'], np.rot90(img, 1)) else -1
    np.testing.assert_allclose(res['img'], np.rot90(img, k), atol=1e-6)
    np.testing.assert_array_equal(res['gt_seg_map'], np.rot90(gt, k))
    res = run(dict(type='RandomFlip', prob=1., direction='vertical'))
    np.testing.assert_array_equal(res['img'], img[::-1])
    np.testing.assert_array_equal(res['gt_seg_map'], gt[::-1])
    res['ori_shape'] = res['img_shape'] = (7, 7)
    packed = TRANSFORMS.build(dict(type='PackSegInputs'))(res)
    assert packed['inputs'].dtype == torch.float32
    assert tuple(packed['inputs'].shape) == (1, 7, 7)
    assert torch.equal(packed['inputs'][0], torch.from_numpy(img[::-1].copy()))
    assert tuple(packed['data_samples'].gt_sem_seg.data.shape) == (1, 7, 7)


def _load_cfg(cfg_path):
    return Config.fromfile(os.path.join(REPO, cfg_path))


def test_config_pipelines_end_to_end(phantom_root, phantom_split_cfg,
                                     tmp_path):
    cfg = _load_cfg('configs/_base_/datasets/acdc_phantom.py')
    h, w = cfg.crop_size
    common = dict(
        data_root=phantom_root,
        split_cfg=phantom_split_cfg,
        cache_dir=str(tmp_path / 'c'),
        progress=False)
    labelled = ACDCDataset(
        **common,
        subset='labelled',
        label_budget=2,
        pipeline=cfg.train_pipeline)
    np.random.seed(0)
    sample = labelled[0]
    assert tuple(sample['inputs'].shape) == (1, h, w)
    assert sample['inputs'].dtype == torch.float32
    ds = sample['data_samples']
    assert tuple(ds.gt_sem_seg.data.shape) == (1, h, w)
    assert set(ds.metainfo) == set(META_KEYS)
    assert ds.metainfo['labelled'] is True and ds.metainfo['slice_idx'] == 0
    unlabelled = ACDCDataset(
        **common,
        subset='unlabelled',
        label_budget=2,
        pipeline=cfg.unlabelled_pipeline)
    sample = unlabelled[3]
    assert 'gt_sem_seg' not in sample['data_samples']
    assert sample['data_samples'].metainfo['labelled'] is False
    test = ACDCDataset(
        **common, split='test', test_mode=True, pipeline=cfg.test_pipeline)
    sample = test[1]
    info = test.get_data_info(1)
    assert tuple(sample['inputs'].shape) == (1, h, w)
    assert sample['data_samples'].metainfo['ori_shape'] == tuple(
        np.load(info['img_path'], mmap_mode='r').shape[1:])
    base = _load_cfg('configs/_base_/datasets/acdc.py')
    assert base.crop_size == (256, 256)
    assert base.train_dataloader.dataset.label_budget == 7
    assert base.train_dataloader.sampler.type == 'InfiniteSampler'
    assert base.test_evaluator == dict(type='ACDCVolumeMetric')
    assert len(Compose(base.test_pipeline).transforms) == 3  # all registered
