"""VolumeSegDataset and its nnU-Net / Decathlon subclasses, label_map, bad
input, the MMWHS and ACDC converters, and ACDC == ACDC converted to nnU-Net."""
from __future__ import annotations

import json
import os
import shutil

import nibabel as nib
import numpy as np
import pytest

import ideal_mm  # noqa: F401
from ideal_mm.datasets import (ACDCDataset, MSDDataset, NnUNetDataset,
                               VolumeSegDataset, default_palette)
from ideal_mm.datasets.convert import (MMWHS_CLASSES, MMWHS_LABEL_MAP,
                                       acdc_to_nnunet, convert_mmwhs)
from ideal_mm.datasets.nnunet import read_dataset_json
from ideal_mm.datasets.phantom import make_phantom_whs
from ideal_mm.errors import ConfigError, DataError
from ideal_mm.evaluation.functional import volume_metrics

SPLIT = dict(type='seeded', seed=0, num_val=1, num_test=2)


def _nib_dhw(path: str) -> np.ndarray:
    """An independent reading: nibabel (X, Y, Z[, C]) -> (D, H, W[, C])."""
    data = np.asarray(nib.load(path).dataobj)
    return np.moveaxis(data, 2, 0)


def _ds(cls, root, tmp_path, **kw):
    kw.setdefault('split_cfg', SPLIT)
    return cls(
        data_root=root,
        cache_dir=str(tmp_path / 'cache'),
        progress=False,
        **kw)


# ---------------------------------------------------------------------------
# the base
# ---------------------------------------------------------------------------
def test_base_is_abstract_and_registered():
    from mmseg.registry import DATASETS
    assert DATASETS.get('VolumeSegDataset') is VolumeSegDataset
    with pytest.raises(TypeError, match='abstract'):
        VolumeSegDataset(data_root='.', lazy_init=True)
    assert issubclass(ACDCDataset, VolumeSegDataset)
    assert ACDCDataset.METAINFO['classes'] == ('background', 'RV', 'Myo', 'LV')


def test_default_palette_extends_acdc_and_is_distinct():
    pal = default_palette(30)
    assert pal[:4] == [list(c) for c in ACDCDataset.METAINFO['palette']]
    assert len({tuple(c) for c in pal}) == 30
    assert default_palette(30) == pal  # stable


def test_acdc_cache_layout_is_unchanged(phantom_root, phantom_split_cfg,
                                        tmp_path):
    ds = ACDCDataset(
        data_root=phantom_root,
        split='val',
        split_cfg=phantom_split_cfg,
        progress=False,
        cache_dir=str(tmp_path / 'c'))
    vol = ds.volumes()[0]
    assert set(vol) == {
        'volume_id', 'patient_id', 'frame', 'img_path', 'seg_map_path',
        'spacing', 'shape', 'labelled', 'img_source', 'gt_source'
    }
    with open(os.path.join(ds.cache_dir, vol['volume_id'] + '.json')) as f:
        meta = json.load(f)
    assert set(meta) == {
        'version', 'volume_id', 'patient_id', 'frame', 'frame_number', 'shape',
        'spacing', 'normalize', 'has_gt', 'kind', 'sources'
    }
    assert meta['normalize'] == 'minmax' and meta['frame'] in ('ED', 'ES')
    assert ds.cache_tag() == ('raw', 'minmax')


# ---------------------------------------------------------------------------
# nnU-Net / MSD
# ---------------------------------------------------------------------------
def test_nnunet_classes_splits_and_cached_volumes(whs_root, tmp_path):
    lab = _ds(
        NnUNetDataset,
        whs_root,
        tmp_path,
        subset='labelled',
        label_budget=2,
        normalize='window',
        intensity_window=(-200, 800))
    assert lab.metainfo['classes'] == MMWHS_CLASSES
    assert len(lab.metainfo['palette']) == 8
    split = lab.patient_split
    everything = sorted(split['train'] + split['val'] + split['test'])
    assert everything == [f'whs_{i:03d}' for i in range(1, 9)]
    assert lab.unlabelled_only == ['whs_009', 'whs_010']
    assert lab.labelled_patients == sorted(split['train'])[:2]
    for vol in lab.volumes():
        img_file = os.path.join(whs_root, 'imagesTr',
                                vol['volume_id'] + '_0000.nii.gz')
        lab_file = os.path.join(whs_root, 'labelsTr',
                                vol['volume_id'] + '.nii.gz')
        raw = _nib_dhw(img_file).astype(np.float32)
        expected = (np.clip(raw, -200, 800) + 200) / 1000
        np.testing.assert_allclose(
            np.load(vol['img_path']), expected, atol=1e-6)
        np.testing.assert_array_equal(
            np.load(vol['seg_map_path']), _nib_dhw(lab_file))
        zooms = nib.load(img_file).header.get_zooms()
        assert vol['spacing'] == pytest.approx((zooms[2], zooms[0], zooms[1]))
    assert len(lab) == sum(v['shape'][0] for v in lab.volumes())

    unl = _ds(
        NnUNetDataset,
        whs_root,
        tmp_path,
        subset='unlabelled',
        label_budget=2,
        normalize='window',
        intensity_window=(-200, 800))
    ids = {v['patient_id'] for v in unl.volumes()}
    assert ids == (set(split['train']) -
                   set(lab.labelled_patients)) | {'whs_009', 'whs_010'}
    assert all(e['seg_map_path'] is None for e in unl)
    test = _ds(NnUNetDataset, whs_root, tmp_path, split='test')
    assert {v['patient_id'] for v in test.volumes()} == set(split['test'])
    assert 'window' not in test.cache_dir  # another normalisation, own cache


def test_msd_two_channels_stacked_per_channel_minmax(tmp_path):
    root = str(tmp_path / 'msd')
    make_phantom_whs(
        root,
        num_cases=5,
        num_test=1,
        size=(40, 40),
        num_slices=(5, 6),
        layout='msd',
        num_channels=2)
    ds = _ds(MSDDataset, root, tmp_path, split='val')
    assert ds.num_channels == 2 and ds.metainfo['classes'] == MMWHS_CLASSES
    vol = ds.volumes()[0]
    raw = _nib_dhw(
        os.path.join(root, 'imagesTr',
                     vol['volume_id'] + '.nii.gz')).astype(np.float32)
    assert raw.shape[-1] == 2 and vol['num_channels'] == 2
    expected = np.stack([(raw[..., c] - raw[..., c].min()) /
                         (raw[..., c].max() - raw[..., c].min())
                         for c in range(2)], -1)
    np.testing.assert_allclose(np.load(vol['img_path']), expected, atol=1e-6)
    train = _ds(
        MSDDataset, root, tmp_path, subset='unlabelled', label_budget=1)
    assert 'whs_006' in {v['volume_id'] for v in train.volumes()}


def test_msd_and_nnunet_refuse_each_others_json(whs_root, tmp_path):
    with pytest.raises(DataError, match="MSDDataset|NnUNetDataset"):
        _ds(MSDDataset, whs_root, tmp_path)


# ---------------------------------------------------------------------------
# label_map
# ---------------------------------------------------------------------------
def _raw_label_copy(whs_root, tmp_path, extra_value=None) -> str:
    """The phantom with MMWHS raw label values (205..850) in labelsTr."""
    root = str(tmp_path / 'raw')
    shutil.copytree(whs_root, root)
    inverse = {v: k for k, v in MMWHS_LABEL_MAP.items()}
    for name in os.listdir(os.path.join(root, 'labelsTr')):
        path = os.path.join(root, 'labelsTr', name)
        img = nib.load(path)
        data = np.asarray(img.dataobj).astype(np.int16)
        raw = np.vectorize(lambda v: inverse.get(int(v), 0))(data).astype(
            np.int16)
        if extra_value is not None and name == 'whs_001.nii.gz':
            raw[0, 0, 0] = extra_value
        new = nib.Nifti1Image(raw, img.affine)
        new.header.set_zooms(img.header.get_zooms())
        nib.save(new, path)
    return root


def test_label_map_remaps_raw_values(whs_root, tmp_path):
    root = _raw_label_copy(whs_root, tmp_path)
    mapped = _ds(
        NnUNetDataset, root, tmp_path, split='test', label_map=MMWHS_LABEL_MAP)
    ref = _ds(NnUNetDataset, whs_root, tmp_path / 'ref', split='test')
    for a, b in zip(mapped.volumes(), ref.volumes()):
        np.testing.assert_array_equal(
            np.load(a['seg_map_path']), np.load(b['seg_map_path']))
    assert '-map' in mapped.cache_tag()[1]  # its own cache entries
    with pytest.raises(DataError) as err:
        _ds(NnUNetDataset, root, tmp_path / 'nomap', split='test')
    assert 'labelsTr' in str(err.value) and 'outside 0..7' in str(err.value)


def test_label_outside_the_map_names_file_and_value(whs_root, tmp_path):
    root = _raw_label_copy(whs_root, tmp_path, extra_value=421)
    with pytest.raises(DataError) as err:
        _ds(NnUNetDataset,
            root,
            tmp_path,
            split='train',
            label_map=MMWHS_LABEL_MAP)
    msg = str(err.value)
    assert 'whs_001.nii.gz' in msg and '421' in msg and 'label_map' in msg
    bad = os.path.join(str(tmp_path / 'cache'), 'whs_001.json')
    assert not os.path.exists(bad)  # nothing half-written
    assert not [
        n for n in os.listdir(str(tmp_path / 'cache')) if n.endswith('.tmp')
    ]
    with pytest.raises(ConfigError, match='label_map'):
        _ds(NnUNetDataset, root, tmp_path, label_map={205: 'x'})


# ---------------------------------------------------------------------------
# bad input: each a DataError naming the file or key
# ---------------------------------------------------------------------------
@pytest.fixture
def whs_copy(whs_root, tmp_path):
    root = str(tmp_path / 'copy')
    shutil.copytree(
        whs_root, root, ignore=shutil.ignore_patterns('.ideal_mm_cache'))
    return root


def _write_json(root, data):
    with open(os.path.join(root, 'dataset.json'), 'w') as f:
        json.dump(data, f)


def _rewrite(path, fn, affine=None, zooms=None):
    img = nib.load(path)
    data = fn(np.asarray(img.dataobj))
    new = nib.Nifti1Image(data, img.affine if affine is None else affine)
    if data.ndim == 3:
        new.header.set_zooms(img.header.get_zooms()[:3])
    nib.save(new, path)
    if zooms is not None:  # patch pixdim[1..3] in the bytes: a broken file
        import gzip
        import struct
        raw = bytearray(gzip.decompress(open(path, 'rb').read()))
        raw[80:92] = struct.pack('<3f', *zooms)
        open(path, 'wb').write(gzip.compress(bytes(raw)))


def test_dataset_json_missing_or_without_labels(whs_copy, tmp_path):
    path = os.path.join(whs_copy, 'dataset.json')
    data = json.load(open(path))
    os.remove(path)
    with pytest.raises(DataError, match='dataset.json not found'):
        _ds(NnUNetDataset, whs_copy, tmp_path)
    _write_json(whs_copy, {k: v for k, v in data.items() if k != 'labels'})
    with pytest.raises(DataError) as err:
        _ds(NnUNetDataset, whs_copy, tmp_path)
    assert path in str(err.value) and '"labels"' in str(err.value)
    _write_json(whs_copy, dict(data, labels={'background': 0, 'a': [1, 2]}))
    with pytest.raises(DataError, match='region'):
        _ds(NnUNetDataset, whs_copy, tmp_path)
    _write_json(whs_copy, dict(data, labels={'background': 0, 'a': 2}))
    with pytest.raises(DataError, match=r'0, 1, \.\.\., N-1'):
        _ds(NnUNetDataset, whs_copy, tmp_path)


def test_image_without_channel_suffix_or_missing_channel(whs_copy, tmp_path):
    src = os.path.join(whs_copy, 'imagesTr', 'whs_002_0000.nii.gz')
    bad = os.path.join(whs_copy, 'imagesTr', 'whs_002.nii.gz')
    os.rename(src, bad)
    with pytest.raises(DataError) as err:
        _ds(NnUNetDataset, whs_copy, tmp_path)
    assert bad in str(err.value) and '_0000' in str(err.value)
    os.rename(bad, src)
    data = json.load(open(os.path.join(whs_copy, 'dataset.json')))
    _write_json(whs_copy, dict(data, channel_names={'0': 'CT', '1': 'late'}))
    with pytest.raises(DataError) as err:
        _ds(NnUNetDataset, whs_copy, tmp_path)
    assert 'whs_001_0001.nii.gz' in str(err.value)


def test_shape_and_affine_mismatch(whs_copy, tmp_path):
    lab = os.path.join(whs_copy, 'labelsTr', 'whs_003.nii.gz')
    _rewrite(lab, lambda a: a[:-1])
    with pytest.raises(DataError) as err:
        _ds(NnUNetDataset,
            whs_copy,
            tmp_path,
            split_cfg=dict(type='seeded', seed=0, num_val=0, num_test=0))
    assert lab in str(err.value) and 'shape' in str(err.value)
    img = nib.load(os.path.join(whs_copy, 'imagesTr', 'whs_004_0000.nii.gz'))
    lab4 = os.path.join(whs_copy, 'labelsTr', 'whs_004.nii.gz')
    shifted = img.affine.copy()
    shifted[0, 3] += 5.0
    _rewrite(lab4, lambda a: a, affine=shifted)
    _rewrite(lab, lambda a: np.concatenate([a, a[-1:]]))  # shape fixed
    with pytest.raises(DataError) as err:
        _ds(NnUNetDataset,
            whs_copy,
            tmp_path / 'b',
            split_cfg=dict(type='seeded', seed=0, num_val=0, num_test=0))
    assert lab4 in str(err.value) and 'affine' in str(err.value)


def test_label_values_outside_labels(whs_copy, tmp_path):
    lab = os.path.join(whs_copy, 'labelsTr', 'whs_005.nii.gz')
    _rewrite(lab, lambda a: np.where(a == 3, 9, a).astype(np.uint8))
    with pytest.raises(DataError) as err:
        _ds(NnUNetDataset,
            whs_copy,
            tmp_path,
            split_cfg=dict(type='seeded', seed=0, num_val=0, num_test=0))
    assert lab in str(err.value) and '[9]' in str(err.value)


@pytest.mark.parametrize('zoom', [0.0, float('nan')])
def test_spacing_zero_or_nan(whs_copy, tmp_path, zoom):
    img = os.path.join(whs_copy, 'imagesTr', 'whs_006_0000.nii.gz')
    _rewrite(img, lambda a: a, zooms=(1.0, zoom, 2.0))
    with pytest.raises(DataError) as err:
        _ds(NnUNetDataset,
            whs_copy,
            tmp_path,
            split_cfg=dict(type='seeded', seed=0, num_val=0, num_test=0))
    assert img in str(err.value) and 'spacing' in str(err.value)


@pytest.mark.parametrize(
    'fn', [lambda a: a[:, :, 0], lambda a: a[..., None, None]],
    ids=['2D', '5D'])
def test_2d_or_5d_volume(whs_copy, tmp_path, fn):
    img = os.path.join(whs_copy, 'imagesTr', 'whs_007_0000.nii.gz')
    _rewrite(img, fn)
    with pytest.raises(DataError) as err:
        _ds(NnUNetDataset,
            whs_copy,
            tmp_path,
            split_cfg=dict(type='seeded', seed=0, num_val=0, num_test=0))
    assert img in str(err.value) and '3D volume' in str(err.value)


def test_empty_folder_and_duplicated_case_ids(whs_copy, tmp_path):
    shutil.copy(
        os.path.join(whs_copy, 'imagesTr', 'whs_001_0000.nii.gz'),
        os.path.join(whs_copy, 'imagesTs', 'whs_001_0000.nii.gz'))
    with pytest.raises(DataError) as err:
        _ds(NnUNetDataset, whs_copy, tmp_path)
    assert "'whs_001'" in str(err.value) and 'unique' in str(err.value)
    empty = str(tmp_path / 'empty')
    os.makedirs(os.path.join(empty, 'imagesTr'))
    shutil.copy(os.path.join(whs_copy, 'dataset.json'), empty)
    with pytest.raises(DataError, match='no cases found'):
        _ds(NnUNetDataset, empty, tmp_path)
    with pytest.raises(DataError, match='does not exist'):
        _ds(NnUNetDataset, str(tmp_path / 'nope'), tmp_path)


def test_check_dataset_config_channels_and_classes(whs_root):
    from mmengine.config import Config

    from ideal_mm.datasets.config_checks import check_dataset_config
    cfg = Config(
        dict(
            model=dict(
                backbone=dict(in_channels=2), decode_head=dict(num_classes=8)),
            train_dataloader=dict(
                dataset=dict(type='NnUNetDataset', data_root=whs_root))))
    with pytest.raises(ConfigError) as err:
        check_dataset_config(cfg)
    assert 'in_channels=2' in str(err.value) and '1 image channel' in str(
        err.value)
    cfg.model.backbone.in_channels = 1
    cfg.model.decode_head.num_classes = 4
    with pytest.raises(ConfigError, match='num_classes=4'):
        check_dataset_config(cfg)
    cfg.model.decode_head.num_classes = 8
    check_dataset_config(cfg)


# ---------------------------------------------------------------------------
# converters
# ---------------------------------------------------------------------------
def test_convert_mmwhs_maps_the_seven_structures(tmp_path):
    src = str(tmp_path / 'mmwhs')
    make_phantom_whs(
        src,
        num_cases=4,
        num_test=2,
        size=(32, 32),
        num_slices=(4, 5),
        layout='mmwhs')
    out = str(tmp_path / 'out')
    meta = convert_mmwhs(src, out, 'ct')
    assert meta['labels'] == {c: i for i, c in enumerate(MMWHS_CLASSES)}
    desc = read_dataset_json(out)
    assert desc.classes == MMWHS_CLASSES and desc.channel_names == ('CT', )
    assert sorted(os.listdir(os.path.join(out, 'imagesTs'))) == [
        'mmwhs_ct_2005_0000.nii.gz', 'mmwhs_ct_2006_0000.nii.gz'
    ]
    for num in (1001, 1004):
        raw = np.asarray(
            nib.load(
                os.path.join(src, 'ct_train',
                             f'ct_train_{num}_label.nii.gz')).dataobj)
        got = nib.load(os.path.join(out, 'labelsTr', f'mmwhs_ct_{num}.nii.gz'))
        expected = np.zeros(raw.shape, np.uint8)
        for value, idx in MMWHS_LABEL_MAP.items():
            expected[raw == value] = idx
        np.testing.assert_array_equal(np.asarray(got.dataobj), expected)
        src_img = nib.load(
            os.path.join(src, 'ct_train', f'ct_train_{num}_image.nii.gz'))
        np.testing.assert_allclose(got.affine, src_img.affine)
    ds = _ds(
        NnUNetDataset,
        out,
        tmp_path,
        split='test',
        split_cfg=dict(type='seeded', seed=0, num_val=1, num_test=1))
    assert len(ds.volumes()) == 1


def test_convert_mmwhs_stray_value_writes_nothing(tmp_path):
    src = str(tmp_path / 'mmwhs')
    make_phantom_whs(
        src,
        num_cases=3,
        num_test=0,
        size=(32, 32),
        num_slices=(4, 4),
        layout='mmwhs')
    lab = os.path.join(src, 'ct_train', 'ct_train_1002_label.nii.gz')
    _rewrite(lab, lambda a: np.where(a == 420, 421, a).astype(np.int16))
    out = str(tmp_path / 'out')
    with pytest.raises(DataError) as err:
        convert_mmwhs(src, out, 'ct')
    assert lab in str(err.value) and '421' in str(err.value)
    assert not os.path.exists(out)
    assert not [n for n in os.listdir(str(tmp_path)) if n.startswith('.out')]
    convert_mmwhs(src, out, 'ct', extra_label_map={421: 2})
    got = np.asarray(
        nib.load(os.path.join(out, 'labelsTr',
                              'mmwhs_ct_1002.nii.gz')).dataobj)
    assert (got == 2).any()
    with pytest.raises(DataError, match='not empty'):
        convert_mmwhs(src, out, 'ct')
    with pytest.raises(DataError, match='mr_train'):
        convert_mmwhs(src, str(tmp_path / 'mr'), 'mr')


def test_acdc_and_converted_nnunet_give_identical_slices_and_metrics(
        phantom_root, tmp_path):
    out = str(tmp_path / 'nnunet_acdc')
    acdc_to_nnunet(phantom_root, out)
    split = dict(
        train=[f'patient{i:03d}' for i in range(1, 9)],
        val=['patient009', 'patient010'],
        test=['patient011', 'patient012'])
    split_file = str(tmp_path / 'split.json')
    with open(split_file, 'w') as f:
        json.dump(split, f)
    cfg = dict(type='file', path=split_file)
    for kw in (dict(split='test'),
               dict(split='train', subset='unlabelled', label_budget=3)):
        a = ACDCDataset(
            data_root=phantom_root,
            split_cfg=cfg,
            progress=False,
            cache_dir=str(tmp_path / 'ca'),
            **kw)
        b = NnUNetDataset(
            data_root=out,
            split_cfg=cfg,
            progress=False,
            cache_dir=str(tmp_path / 'cb'),
            patient_regex=r'^(patient\d{3})_',
            **kw)
        assert a.metainfo['classes'] == b.metainfo['classes']
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert (x['volume_id'], x['patient_id'], x['slice_idx'],
                    x['spacing'],
                    x['labelled']) == (y['volume_id'], y['patient_id'],
                                       y['slice_idx'], y['spacing'],
                                       y['labelled'])
        for va, vb in zip(a.volumes(), b.volumes()):
            np.testing.assert_array_equal(
                np.load(va['img_path']), np.load(vb['img_path']))
            if va['seg_map_path']:
                ga, gb = np.load(va['seg_map_path']), np.load(
                    vb['seg_map_path'])
                np.testing.assert_array_equal(ga, gb)
                pred = np.roll(ga, 1, axis=2)  # a deterministic "prediction"
                labels = {
                    n: i
                    for i, n in enumerate(a.metainfo['classes']) if i
                }
                ma = volume_metrics(pred, ga, va['spacing'], labels)
                mb = volume_metrics(pred, gb, vb['spacing'], labels)
                assert json.dumps(ma) == json.dumps(mb)


# ---------------------------------------------------------------------------
# the MMWHS configs build (the semi-supervised and pre-training ones also
# train one iteration in test_semi_configs.py / test_pretrain_configs.py)
# ---------------------------------------------------------------------------
def test_mmwhs_configs_build_on_the_phantom(whs_root, whs_split_cfg, tmp_path):
    import glob

    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    from ideal_mm.datasets.config_checks import check_dataset_config
    from ideal_mm.engine.config_checks import validate_config
    from ideal_mm.model_config import encoder_config
    init_default_scope('mmseg')
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = sorted(
        glob.glob(os.path.join(repo, 'configs', '*', '*_mmwhs-*.py')))
    names = {os.path.basename(p) for p in paths}
    for mod in ('ct', 'mr'):
        # 10 % of IDEAL is unet_mmwhs-<mod>.py (one file per experiment)
        assert f'unet_mmwhs-{mod}.py' in names
        for pct in (10, 20, 40, 100):
            for kind in ('ideal', 'cps', 'supervised'):
                assert kind == 'ideal' and pct == 10 or \
                    f'{kind}_unet_1xb24-30k_mmwhs-{mod}-{pct}pct.py' in names
    built = set()
    for path in paths:
        cfg = Config.fromfile(path)
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            if cfg.get(loader):
                ds = cfg[loader]['dataset']
                assert ds['type'] == 'NnUNetDataset'
                ds.update(
                    data_root=whs_root,
                    split_cfg=whs_split_cfg,
                    cache_dir=str(tmp_path / 'cache'),
                    progress=False)
        encoder_config(cfg.model).init_cfg = None
        validate_config(cfg)
        check_dataset_config(cfg)
        ds = cfg.train_dataloader.dataset
        key = (ds.get('normalize'), ds.get('label_budget'), ds.get('subset'))
        if key not in built:  # each distinct dataset once
            built.add(key)
            dataset = DATASETS.build(ds)
            assert dataset.metainfo['classes'] == MMWHS_CLASSES
            expected = 'window' if '-ct' in os.path.basename(path) else \
                'zscore'
            assert ds['normalize'] == expected
