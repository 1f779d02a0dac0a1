"""ACDCDataset, splits, label budgets, validation errors and the volume
cache."""
from __future__ import annotations

import glob
import json
import multiprocessing as mp
import os
import shutil
import warnings

import h5py
import nibabel as nib
import numpy as np
import pytest
from mmengine.registry import init_default_scope

import ideal_mm  # noqa: F401
from ideal_mm.datasets import io as acdc_io
from ideal_mm.datasets import volume_cache as vc
from ideal_mm.datasets.acdc import ACDCDataset
from ideal_mm.datasets.phantom import nifti_bytes
from ideal_mm.datasets.splits import (SSL4MIS_SPLIT_FILE, build_split,
                                      seeded_split, select_labelled)
from ideal_mm.errors import ConfigError, DataError

init_default_scope('mmseg')

ENTRY_KEYS = {
    'img_path', 'seg_map_path', 'slice_idx', 'num_slices', 'volume_id',
    'patient_id', 'frame', 'spacing', 'labelled', 'reduce_zero_label',
    'seg_fields'
}


def make_ds(root, split_cfg, cache_dir, **kwargs) -> ACDCDataset:
    kwargs.setdefault('progress', False)
    return ACDCDataset(
        data_root=root,
        split_cfg=split_cfg,
        cache_dir=str(cache_dir),
        **kwargs)


def entries(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def nib_dhw(path):
    """Independent read: nibabel (X, Y, Z) -> (Z, X, Y) and zooms reordered."""
    img = nib.load(path)
    data = np.asarray(img.get_fdata(), dtype=np.float64).transpose(2, 0, 1)
    sx, sy, sz = img.header.get_zooms()[:3]
    return data, (sz, sx, sy)


def write_nifti(path, arr_dhw, spacing=(8.0, 1.5, 1.5)):
    with open(path, 'wb') as f:
        f.write(nifti_bytes(arr_dhw, spacing))


def tmp_files(folder):
    return glob.glob(os.path.join(str(folder), '**', '*.tmp'), recursive=True)


# ---------------------------------------------------------------- entries


def test_train_entries_follow_contract(phantom_root, phantom_split_cfg,
                                       tmp_path):
    ds = make_ds(
        phantom_root, phantom_split_cfg, tmp_path / 'c', label_budget=3)
    items = entries(ds)
    # get_data_info adds mmengine's sample_idx to the stored entry.
    assert all(set(e) - {'sample_idx'} == ENTRY_KEYS for e in items)
    vols = ds.volumes()
    assert len(vols) == 2 * 8  # 8 train patients, ED + ES
    # Volume by volume, slices in order.
    pos = 0
    for vol in vols:
        depth = vol['shape'][0]
        chunk = items[pos:pos + depth]
        assert [e['slice_idx'] for e in chunk] == list(range(depth))
        assert {e['volume_id'] for e in chunk} == {vol['volume_id']}
        assert {e['num_slices'] for e in chunk} == {depth}
        pos += depth
    assert pos == len(items)
    labelled = sorted({e['patient_id'] for e in items if e['labelled']})
    assert labelled == sorted(ds.patient_split['train'])[:3]
    for e in items:
        assert (e['seg_map_path'] is not None) == e['labelled']
        assert e['reduce_zero_label'] is False and e['seg_fields'] == []
        assert e['frame'] in ('ED', 'ES')


def test_cached_arrays_match_independent_read(phantom_root, phantom_split_cfg,
                                              tmp_path):
    ds = make_ds(phantom_root, phantom_split_cfg, tmp_path / 'c', split='val')
    assert len(ds.volumes()) == 4
    for vol in ds.volumes():
        ref, spacing = nib_dhw(vol['img_source'])
        ref = (ref - ref.min()) / (ref.max() - ref.min())
        img = np.load(vol['img_path'])
        assert img.dtype == np.float32 and img.shape == ref.shape
        np.testing.assert_allclose(img, ref, atol=1e-6)
        assert vol['spacing'] == pytest.approx(spacing)
        gt = np.load(vol['seg_map_path'])
        ref_gt, _ = nib_dhw(vol['gt_source'])
        assert gt.dtype == np.uint8
        np.testing.assert_array_equal(gt, ref_gt.astype(np.uint8))
        frame_no = int(vol['volume_id'][-2:])
        assert (vol['frame'] == 'ED') == (frame_no == 1)
    spacing = {v['volume_id']: v['spacing'] for v in ds.volumes()}
    for e in entries(ds):
        assert e['labelled'] and e['seg_map_path'] is not None
        assert e['spacing'] == spacing[e['volume_id']]


def test_registry_build_and_lazy_init(phantom_root, phantom_split_cfg,
                                      tmp_path):
    from mmseg.registry import DATASETS
    ds = DATASETS.build(
        dict(
            type='ACDCDataset',
            data_root=phantom_root,
            split_cfg=phantom_split_cfg,
            split='test',
            cache_dir=str(tmp_path / 'c'),
            lazy_init=True,
            progress=False))
    assert not ds._fully_initialized
    assert len(ds.volumes()) == 4  # 2 test patients; volumes() inits
    assert ds.metainfo['classes'] == ('background', 'RV', 'Myo', 'LV')
    assert len(ds.metainfo['palette']) == 4


# ------------------------------------------------------- subsets / budgets


def test_subsets_partition_train(phantom_root, phantom_split_cfg, tmp_path):
    cache = tmp_path / 'c'
    all_ = make_ds(phantom_root, phantom_split_cfg, cache, label_budget=3)
    lab = make_ds(
        phantom_root,
        phantom_split_cfg,
        cache,
        subset='labelled',
        label_budget=3)
    unl = make_ds(
        phantom_root,
        phantom_split_cfg,
        cache,
        subset='unlabelled',
        label_budget=3)
    pid = lambda ds: sorted({e['patient_id'] for e in entries(ds)})  # noqa
    assert len(pid(lab)) == 3 and len(pid(unl)) == 5
    assert sorted(pid(lab) + pid(unl)) == pid(all_)
    assert all(e['labelled'] and e['seg_map_path'] for e in entries(lab))
    assert all(not e['labelled'] and e['seg_map_path'] is None
               for e in entries(unl))
    assert len(all_) == len(lab) + len(unl)
    # No budget: every train patient labelled.
    full = make_ds(phantom_root, phantom_split_cfg, cache)
    assert all(e['labelled'] for e in entries(full))


def test_unlabelled_patients_never_read_labels(copy_phantom, phantom_split_cfg,
                                               tmp_path):
    root = copy_phantom()
    records = acdc_io.scan_raw(root)
    split = build_split(phantom_split_cfg, list(records), {
        pid: rec.group
        for pid, rec in records.items()
    })
    unlabelled = sorted(split['train'])[2:]
    for pid in unlabelled:  # labels of unlabelled patients do not exist
        for gt in glob.glob(
                os.path.join(root, 'training', pid, '*_gt.nii.gz')):
            os.remove(gt)
    ds = make_ds(
        root,
        phantom_split_cfg,
        tmp_path / 'c',
        subset='unlabelled',
        label_budget=2)
    assert sorted({e['patient_id'] for e in entries(ds)}) == unlabelled
    assert not glob.glob(str(tmp_path / 'c' / '*_gt.npy'))
    # ... but a labelled use of such a patient names the missing file.
    with pytest.raises(DataError, match=r'_gt\.nii\.gz'):
        make_ds(root, phantom_split_cfg, tmp_path / 'c', label_budget=3)


@pytest.mark.parametrize('budget,expected', [(1, 1), (8, 8), (0.25, 2),
                                             (0.3, 2), (0.0625, 1), (0.01, 1),
                                             (1.0, 8)])
def test_label_budget_values(budget, expected):
    train = [f'patient{i:03d}' for i in (9, 3, 5, 1, 12, 7, 2, 4)]
    assert select_labelled(train, budget) == sorted(train)[:expected]


@pytest.mark.parametrize('budget', [0, -1, 9, 0.0, 1.5, -0.2, True, '3'])
def test_label_budget_errors(budget, phantom_root, phantom_split_cfg,
                             tmp_path):
    with pytest.raises(ConfigError, match='label_budget'):
        make_ds(
            phantom_root,
            phantom_split_cfg,
            tmp_path / 'c',
            label_budget=budget)


def test_argument_errors(phantom_root, phantom_split_cfg, tmp_path):
    with pytest.raises(ConfigError, match='label_budget'):
        make_ds(phantom_root, phantom_split_cfg, tmp_path, subset='labelled')
    with pytest.raises(ConfigError, match='label_budget'):
        make_ds(
            phantom_root,
            phantom_split_cfg,
            tmp_path,
            subset='unlabelled',
            label_budget=8)
    with pytest.raises(ConfigError, match='split'):
        make_ds(phantom_root, phantom_split_cfg, tmp_path, split='training')
    with pytest.raises(ConfigError, match='subset'):
        make_ds(
            phantom_root,
            phantom_split_cfg,
            tmp_path,
            split='val',
            subset='labelled',
            label_budget=1)
    with pytest.raises(ConfigError, match='source'):
        make_ds(phantom_root, phantom_split_cfg, tmp_path, source='png')
    with pytest.raises(ConfigError, match='normalize'):
        make_ds(phantom_root, phantom_split_cfg, tmp_path, normalize='std')
    with pytest.raises(ConfigError, match='split_cfg'):
        make_ds(phantom_root, dict(type='kfold'), tmp_path)


# ------------------------------------------------------------------ splits


def test_ssl4mis_split_content():
    with open(SSL4MIS_SPLIT_FILE) as f:
        data = json.load(f)
    ids = lambda nums: [f'patient{n:03d}' for n in nums]  # noqa: E731
    assert data['test'] == ids([
        1, 7, 8, 11, 13, 22, 24, 33, 52, 59, 64, 65, 66, 68, 75, 80, 81, 83,
        84, 93
    ])
    assert data['val'] == ids([2, 19, 28, 30, 39, 45, 78, 82, 85, 87])
    assert len(data['train']) == 70 and data['train'] == sorted(data['train'])
    union = set(data['train']) | set(data['val']) | set(data['test'])
    assert union == set(ids(range(1, 101)))
    all_ids = ids(range(1, 151))  # real ACDC: training + testing patients
    split = build_split(dict(type='ssl4mis'), all_ids)
    assert split['val'] == data['val']
    assert select_labelled(split['train'], 7) == ids([3, 4, 5, 6, 9, 10, 12])


def test_ssl4mis_split_on_other_data_names_missing(phantom_root, tmp_path):
    with pytest.raises(DataError) as err:
        make_ds(phantom_root, dict(type='ssl4mis'), tmp_path)
    msg = str(err.value)
    assert 'patient013' in msg and 'seeded' in msg and phantom_root in msg


def test_seeded_split_deterministic_disjoint_stratified():
    groups_cycle = ('DCM', 'HCM', 'MINF', 'NOR', 'RV')
    patients = [f'patient{i:03d}' for i in range(1, 101)]
    groups = {p: groups_cycle[i % 5] for i, p in enumerate(patients)}
    a = seeded_split(patients, groups, seed=3, num_val=10, num_test=20)
    b = seeded_split(
        list(reversed(patients)), groups, seed=3, num_val=10, num_test=20)
    c = seeded_split(patients, groups, seed=4, num_val=10, num_test=20)
    assert a == b and a != c
    assert (len(a['train']), len(a['val']), len(a['test'])) == (70, 10, 20)
    assert set(a['train']) | set(a['val']) | set(a['test']) == set(patients)
    assert not set(a['train']) & set(a['val'])
    assert not set(a['val']) & set(a['test'])
    for name, per_group in (('test', 4), ('val', 2), ('train', 14)):
        counts = [sum(groups[p] == g for p in a[name]) for g in groups_cycle]
        assert counts == [per_group] * 5, (name, counts)
    # Ratios; patients without a group are one stratum.
    r = seeded_split(
        patients[:20], None, seed=0, val_ratio=0.1, test_ratio=0.25)
    assert (len(r['val']), len(r['test'])) == (2, 5)
    d = seeded_split(patients[:20])  # defaults: 10 % val, 20 % test
    assert (len(d['val']), len(d['test'])) == (2, 4)
    with pytest.raises(ConfigError, match='num_val'):
        seeded_split(patients[:5], num_val=2, num_test=3)
    with pytest.raises(ConfigError, match='num_val'):
        seeded_split(patients, num_val=2, val_ratio=0.1)
    with pytest.raises(ConfigError, match='unknown'):
        build_split(dict(type='seeded', n_val=2), patients)


def test_file_split(phantom_root, tmp_path):
    path = tmp_path / 'split.json'
    train = [f'patient{i:03d}' for i in range(1, 9)]
    path.write_text(
        json.dumps(
            dict(
                train=train,
                val=['patient009'],
                test=['patient010', 'patient011'])))
    ds = make_ds(
        phantom_root,
        dict(type='file', path=str(path)),
        tmp_path / 'c',
        split='test')
    assert [v['patient_id']
            for v in ds.volumes()] == ['patient010'] * 2 + ['patient011'] * 2
    path.write_text(json.dumps(dict(train=train, val=['patient008'], test=[])))
    with pytest.raises(ConfigError, match='patient008.*both'):
        make_ds(phantom_root, dict(type='file', path=str(path)), tmp_path)
    path.write_text(
        json.dumps(dict(train=train + ['patient077'], val=[], test=[])))
    with pytest.raises(DataError, match='patient077'):
        make_ds(phantom_root, dict(type='file', path=str(path)), tmp_path)
    with pytest.raises(ConfigError, match='split_cfg.path'):
        make_ds(phantom_root, dict(type='file', path=str(tmp_path / 'no')),
                tmp_path)


# -------------------------------------------------------------- validation


def _only(copy_phantom, pid='patient001'):
    root = copy_phantom([pid])
    return root, os.path.join(root, 'training', pid)


def _one_split(tmp_path, pid='patient001'):
    path = tmp_path / 'one.json'
    path.write_text(json.dumps(dict(train=[pid], val=[], test=[])))
    return dict(type='file', path=str(path))


def _assert_nothing_half_written(cache):
    assert not tmp_files(cache)
    for meta in glob.glob(os.path.join(str(cache), '*.json')):
        vid = os.path.basename(meta)[:-5]
        assert os.path.isfile(os.path.join(str(cache), f'{vid}_img.npy'))


def test_missing_data_root(tmp_path):
    with pytest.raises(DataError, match='no_such_root'):
        make_ds(str(tmp_path / 'no_such_root'), dict(type='ssl4mis'), tmp_path)
    os.makedirs(tmp_path / 'empty' / 'database' / 'training')
    with pytest.raises(DataError, match='database'):
        make_ds(str(tmp_path / 'empty'), dict(type='ssl4mis'), tmp_path)


def test_missing_info_cfg_and_frames(copy_phantom, tmp_path):
    root, folder = _only(copy_phantom)
    cfg = _one_split(tmp_path)
    info = os.path.join(folder, 'Info.cfg')
    text = open(info).read()
    os.remove(info)
    with pytest.raises(DataError, match='Info.cfg'):
        make_ds(root, cfg, tmp_path / 'c')
    with open(info, 'w') as f:
        f.write('\n'.join(line for line in text.splitlines()
                          if not line.startswith('ES')))
    with pytest.raises(DataError, match=r'Info\.cfg.*"ES:"'):
        make_ds(root, cfg, tmp_path / 'c')
    with open(info, 'w') as f:
        f.write(text)
    es = [
        p for p in glob.glob(os.path.join(folder, '*frame??.nii.gz'))
        if not p.endswith('frame01.nii.gz')
    ][0]
    os.remove(es)
    with pytest.raises(DataError, match=os.path.basename(es)):
        make_ds(root, cfg, tmp_path / 'c')


def test_duplicate_patient(copy_phantom, tmp_path):
    root, folder = _only(copy_phantom)
    shutil.copytree(folder, os.path.join(root, 'testing', 'patient001'))
    with pytest.raises(DataError, match='patient001'):
        make_ds(root, _one_split(tmp_path), tmp_path / 'c')


def test_corrupt_nifti(copy_phantom, tmp_path):
    root, folder = _only(copy_phantom)
    path = os.path.join(folder, 'patient001_frame01.nii.gz')
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    cache = tmp_path / 'c'
    with pytest.raises(DataError, match='patient001_frame01.nii.gz.*corrupt'):
        make_ds(root, _one_split(tmp_path), cache)
    _assert_nothing_half_written(cache)
    with open(path, 'wb') as f:
        f.write(b'not a nifti at all')
    with pytest.raises(DataError, match='patient001_frame01.nii.gz'):
        make_ds(root, _one_split(tmp_path), cache)


def test_shape_mismatch_bad_labels_nan(copy_phantom, tmp_path):
    root, folder = _only(copy_phantom)
    cfg = _one_split(tmp_path)
    cache = tmp_path / 'c'
    img_path = os.path.join(folder, 'patient001_frame01.nii.gz')
    gt_path = os.path.join(folder, 'patient001_frame01_gt.nii.gz')
    img, _ = nib_dhw(img_path)
    gt, _ = nib_dhw(gt_path)
    gt = gt.astype(np.uint8)
    write_nifti(gt_path, gt[:, :-1])
    with pytest.raises(DataError, match='patient001_frame01_gt.nii.gz.*shape'):
        make_ds(root, cfg, cache)
    bad = gt.copy()
    bad[0, 0, 0], bad[0, 0, 1] = 5, 7
    write_nifti(gt_path, bad)
    with pytest.raises(DataError, match=r'_gt\.nii\.gz.*\[5, 7\]'):
        make_ds(root, cfg, cache)
    write_nifti(gt_path, gt)
    noisy = img.astype(np.float32)
    noisy[1, 2, 3] = np.nan
    write_nifti(img_path, noisy)
    with pytest.raises(DataError, match='patient001_frame01.nii.gz.*NaN'):
        make_ds(root, cfg, cache)
    _assert_nothing_half_written(cache)
    assert not os.path.exists(cache / 'patient001_frame01.json')


# ------------------------------------------------------------------- cache


def _mtimes(cache):
    return {
        p: os.stat(p).st_mtime_ns
        for p in glob.glob(os.path.join(str(cache), '*'))
    }


def test_cache_built_once_and_rebuilt_on_change(copy_phantom, tmp_path):
    root = copy_phantom(['patient001', 'patient002'])
    cfg = _one_split(tmp_path)
    cache = tmp_path / 'c'
    make_ds(root, cfg, cache)
    first = _mtimes(cache)
    assert len(first) == 6  # 2 volumes x (img, gt, json)
    make_ds(root, cfg, cache)
    assert _mtimes(cache) == first
    # Touch one source: only that volume is rebuilt.
    src = os.path.join(root, 'training', 'patient001',
                       'patient001_frame01.nii.gz')
    st = os.stat(src)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    make_ds(root, cfg, cache)
    after = _mtimes(cache)
    changed = sorted(
        os.path.basename(p) for p in after if after[p] != first[p])
    assert changed == [
        'patient001_frame01.json', 'patient001_frame01_gt.npy',
        'patient001_frame01_img.npy'
    ]
    # Other normalisation in the same folder: rebuilt with z-scores.
    ds = make_ds(root, cfg, cache, normalize='zscore')
    for vol in ds.volumes():
        arr = np.load(vol['img_path']).astype(np.float64)
        assert abs(arr.mean()) < 1e-4 and abs(arr.std() - 1) < 1e-4
        assert json.load(
            open(os.path.join(str(cache), vol['volume_id'] +
                              '.json')))['normalize'] == 'zscore'


def test_cache_failure_leaves_nothing_half_written(copy_phantom, tmp_path,
                                                   monkeypatch):
    root = copy_phantom(['patient001'])
    cfg = _one_split(tmp_path)
    cache = tmp_path / 'c'
    real_save = np.save
    calls = []

    def failing_save(f, arr, **kw):
        calls.append(1)
        if len(calls) == 3:  # the second volume's image
            f.write(b'\x93NUMPY partial')
            raise OSError('disk full')
        return real_save(f, arr, **kw)

    monkeypatch.setattr(vc.np, 'save', failing_save)
    with pytest.raises(OSError, match='disk full'):
        make_ds(root, cfg, cache)
    monkeypatch.setattr(vc.np, 'save', real_save)
    assert not tmp_files(cache)
    metas = sorted(
        os.path.basename(p) for p in glob.glob(str(cache / '*.json')))
    assert metas == ['patient001_frame01.json']  # the first volume is complete
    ds = make_ds(root, cfg, cache)  # finishes the second one
    assert len(ds.volumes()) == 2 and not tmp_files(cache)


def test_normalize_volume():
    vol = np.array([[[2.0, 4.0], [6.0, 10.0]]], dtype=np.float64)
    np.testing.assert_allclose(
        vc.normalize_volume(vol, 'minmax'), (vol - 2) / 8, atol=1e-7)
    z = vc.normalize_volume(vol, 'zscore')
    np.testing.assert_allclose(z, (vol - 5.5) / np.std(vol), atol=1e-6)
    assert z.dtype == np.float32
    with np.errstate(all='raise'):
        for mode in ('minmax', 'zscore'):
            const = vc.normalize_volume(np.full((2, 3, 3), 7.0), mode)
            assert const.dtype == np.float32 and not const.any()
    with pytest.raises(ConfigError, match='normalize'):
        vc.normalize_volume(vol, 'robust')


def test_default_cache_dir_and_fallback(copy_phantom, tmp_path, monkeypatch):
    root = copy_phantom(['patient001'])
    ds = ACDCDataset(root, split_cfg=_one_split(tmp_path), progress=False)
    assert ds.cache_dir == os.path.join(root, '.ideal_mm_cache', 'raw-minmax')
    assert os.path.isfile(
        os.path.join(ds.cache_dir, 'patient001_frame01.json'))
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    real_probe = vc._probe_writable
    monkeypatch.setattr(
        vc, '_probe_writable', lambda d: False
        if d.startswith(root) else real_probe(d))
    path = vc.default_cache_dir(root, 'raw', 'zscore')
    assert path.startswith(str(tmp_path / 'home' / '.cache' / 'ideal_mm'))
    assert path.endswith('raw-zscore')


def _build_in_process(frames, cache, barrier, queue):
    built = []
    real = vc.build_volume

    def counting(frame, *args, **kwargs):
        built.append(frame.volume_id)
        return real(frame, *args, **kwargs)

    vc.build_volume = counting
    barrier.wait()
    vc.build_volume_cache(
        frames, cache, 'minmax', {f.volume_id
                                  for f in frames}, progress=False)
    queue.put(built)


def test_two_processes_build_one_cache(copy_phantom, tmp_path):
    root = copy_phantom(['patient001', 'patient002', 'patient003'])
    frames = [f for rec in acdc_io.scan_raw(root).values() for f in rec.frames]
    cache = str(tmp_path / 'c')
    ctx = mp.get_context('fork')
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(
            target=_build_in_process, args=(frames, cache, barrier, queue))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    built = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    # Every volume built exactly once, by one of the two processes.
    assert sorted(built[0] + built[1]) == sorted(f.volume_id for f in frames)
    assert not tmp_files(cache)
    for frame in frames:
        meta = vc.load_valid_meta(cache, frame, 'minmax', True)
        assert meta is not None
        ref, _ = nib_dhw(frame.img_file)
        ref = (ref - ref.min()) / (ref.max() - ref.min())
        np.testing.assert_allclose(
            np.load(vc.cache_paths(cache, frame.volume_id)['img']),
            ref,
            atol=1e-6)


# ---------------------------------------------------------------- SSL4MIS h5


def _write_h5_copy(phantom_root, dst, patients):
    os.makedirs(os.path.join(dst, 'ACDC_training_volumes'))
    for pid in patients:
        for img_path in sorted(
                glob.glob(
                    os.path.join(phantom_root, 'training', pid,
                                 '*frame??.nii.gz'))):
            img, _ = nib_dhw(img_path)
            gt, _ = nib_dhw(img_path.replace('.nii', '_gt.nii'))
            name = os.path.basename(img_path).replace('.nii.gz', '.h5')
            with h5py.File(
                    os.path.join(dst, 'ACDC_training_volumes', name),
                    'w') as f:
                f['image'] = (img / img.max()).astype(np.float32)
                f['label'] = gt.astype(np.uint8)


def test_ssl4mis_h5_source(phantom_root, tmp_path, monkeypatch):
    root = str(tmp_path / 'h5')
    pids = [f'patient{i:03d}' for i in range(1, 6)]
    _write_h5_copy(phantom_root, root, pids)
    monkeypatch.setattr(acdc_io, '_H5_SPACING_WARNED', False)
    cfg = dict(type='seeded', seed=0, num_val=1, num_test=1)
    with pytest.warns(UserWarning, match='voxels'):
        ds = make_ds(root, cfg, tmp_path / 'c', source='ssl4mis_h5')
    assert len(ds.volumes()) == 6
    for vol in ds.volumes():
        assert vol['spacing'] == (1.0, 1.0, 1.0)
        assert vol['frame'] == ('ED'
                                if vol['volume_id'].endswith('01') else 'ES')
        nii = os.path.join(phantom_root, 'training', vol['patient_id'],
                           vol['volume_id'] + '_gt.nii.gz')
        np.testing.assert_array_equal(
            np.load(vol['seg_map_path']),
            nib_dhw(nii)[0].astype(np.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # warned once only
        make_ds(root, cfg, tmp_path / 'c2', source='ssl4mis_h5', split='val')
    bad = os.path.join(root, 'ACDC_training_volumes', 'patient001_frame01.h5')
    with h5py.File(bad, 'w') as f:
        f['image'] = np.zeros((3, 8, 8), np.float32)
    with pytest.raises(DataError, match="patient001_frame01.h5.*'label'"):
        make_ds(
            root,
            dict(type='file', path=_one_split(tmp_path)['path']),
            tmp_path / 'c3',
            source='ssl4mis_h5')
    with pytest.raises(DataError, match='ACDC_training_volumes'):
        make_ds(phantom_root, cfg, tmp_path / 'c4', source='ssl4mis_h5')
