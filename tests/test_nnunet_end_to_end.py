"""N != 4 classes end to end on the whole-heart nnU-Net phantom (8 classes):
tools/train.py, tools/test.py --out, tools/infer.py on a folder of
<case>_0000 files, tools/evaluate.py --dataset-json; the volume metric with
class names from the dataset metainfo against medpy; montages in N colours."""
from __future__ import annotations

import importlib.util
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

import ideal_mm  # noqa: F401
from ideal_mm.datasets import NnUNetDataset, default_palette
from ideal_mm.datasets.convert import MMWHS_CLASSES

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PY = sys.executable


def _tool(name):
    spec = importlib.util.spec_from_file_location(
        f'ideal_mm_{name}_tool', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _run(args):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)


def _tiny_config(tmp_path, data_root, split_cfg) -> str:
    base = osp.join(REPO, 'configs', 'demo', 'supervised_unet_whs_phantom.py')
    text = f'''
_base_ = [{base!r}]
crop_size = (32, 32)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'volume_id',
             'slice_idx', 'num_slices', 'spacing', 'labelled')
train_pipeline = [
    dict(type='LoadACDCSlice', with_label=True),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = train_pipeline
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={data_root!r}, split_cfg={split_cfg!r},
                 label_budget=2, pipeline=train_pipeline))
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={data_root!r}, split_cfg={split_cfg!r},
                 pipeline=test_pipeline))
test_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={data_root!r}, split_cfg={split_cfg!r},
                 pipeline=test_pipeline))
model = dict(backbone=dict(base_channels=8), decode_head=dict(in_channels=8,
                                                              channels=8))
train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end=2,
                        by_epoch=False)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2, max_keep_ckpts=1))
'''
    path = tmp_path / 'tiny_whs.py'
    path.write_text(text)
    return str(path)


def test_train_test_infer_evaluate_on_eight_classes(whs_root, whs_split_cfg,
                                                    tmp_path):
    cfg = _tiny_config(tmp_path, whs_root, whs_split_cfg)
    work = str(tmp_path / 'work')
    res = _run([PY, 'tools/train.py', cfg, '--work-dir', work])
    assert res.returncode == 0, res.stderr[-3000:]
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)
    # tools/test.py: per-volume metrics with the data set's class names
    preds = tmp_path / 'preds'
    test_dir = str(tmp_path / 'test')
    res = _run([
        PY, 'tools/test.py', cfg, ckpt, '--work-dir', test_dir, '--out',
        str(preds)
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    with open(osp.join(test_dir, 'summary.json')) as f:
        summary = json.load(f)
    assert list(summary['per_class']) == list(MMWHS_CLASSES[1:])
    test_ids = [case['case'] for case in summary['cases']]
    assert len(test_ids) == whs_split_cfg['num_test']
    assert sorted(os.listdir(preds)) == [f'{c}.nii.gz' for c in test_ids]

    # tools/evaluate.py on the written NIfTI predictions against labelsTr,
    # classes from dataset.json: the same values as the test run's metric
    evaluate = _tool('evaluate')
    out_json = str(tmp_path / 'eval.json')
    assert evaluate.main([
        '--pred-dir',
        str(preds), '--gt-dir',
        osp.join(whs_root, 'labelsTr'), '--out', out_json, '--dataset-json',
        whs_root
    ]) == 0
    with open(out_json) as f:
        evaluated = json.load(f)
    for a, b in zip(summary['cases'], evaluated['cases']):
        assert a['case'] == b['case']
        for name in MMWHS_CLASSES[1:]:
            for metric in ('dice', 'hd95'):
                x, y = a[name][metric], b[name][metric]
                assert (x is None and y is None) or x == pytest.approx(y)

    # tools/infer.py on a folder of nnU-Net images (imagesTs: no labels)
    infer = _tool('infer')
    out_dir = str(tmp_path / 'infer')
    assert infer.main(
        [cfg, ckpt,
         osp.join(whs_root, 'imagesTs'), '--out-dir', out_dir]) == 0
    assert sorted(
        os.listdir(out_dir)) == ['whs_009_pred.nii.gz', 'whs_010_pred.nii.gz']
    src = nib.load(osp.join(whs_root, 'imagesTs', 'whs_009_0000.nii.gz'))
    pred = nib.load(osp.join(out_dir, 'whs_009_pred.nii.gz'))
    assert pred.shape == src.shape
    np.testing.assert_allclose(pred.affine, src.affine)
    assert set(np.unique(np.asarray(pred.dataobj))) <= set(range(8))

    # a two-channel case for a one-channel model: a clear failure
    two = tmp_path / 'two'
    two.mkdir()
    for c in ('0000', '0001'):
        shutil.copy(
            osp.join(whs_root, 'imagesTs', 'whs_009_0000.nii.gz'),
            two / f'whs_009_{c}.nii.gz')
    assert infer.main([cfg, ckpt,
                       str(two), '--out-dir',
                       str(tmp_path / 'o2')]) == 1
    assert not osp.exists(tmp_path / 'o2' / 'whs_009_pred.nii.gz')


def test_infer_collects_nnunet_cases_and_reports_missing_channel(tmp_path):
    from ideal_mm.apis.inputs import collect_inputs
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for name in ('a_0000', 'a_0001', 'b_0000', 'b_0002'):
        (folder / f'{name}.nii.gz').write_bytes(b'x')
    found = collect_inputs(str(folder))
    assert [(j.name, [osp.basename(f) for f in j.img_files])
            for j in found.jobs] == [('a', ['a_0000.nii.gz', 'a_0001.nii.gz'])]
    assert found.failures[0][0].endswith('b_0001.nii.gz')


def test_metric_takes_classes_from_dataset_meta_and_equals_medpy(
        whs_root, whs_split_cfg, tmp_path):
    medpy = pytest.importorskip('medpy.metric.binary')
    from ideal_mm.evaluation import ACDCVolumeMetric
    ds = NnUNetDataset(
        data_root=whs_root,
        split='test',
        split_cfg=whs_split_cfg,
        progress=False,
        cache_dir=str(tmp_path / 'c'))
    metric = ACDCVolumeMetric()
    assert metric.class_names == ('RV', 'Myo', 'LV')  # no dataset: ACDC's
    metric.dataset_meta = ds.metainfo
    assert metric.class_names == MMWHS_CLASSES[1:]
    preds = {}
    for vol in ds.volumes():
        gt = np.load(vol['seg_map_path'])
        pred = np.roll(gt, 1, axis=1)
        preds[vol['volume_id']] = (pred, gt, vol['spacing'])
        for k in range(gt.shape[0]):
            metric.process(None, [
                dict(
                    pred_sem_seg=dict(data=pred[k][None]),
                    volume_id=vol['volume_id'],
                    slice_idx=k,
                    num_slices=gt.shape[0],
                    spacing=vol['spacing'],
                    seg_map_path=vol['seg_map_path'])
            ])
    result = metric.compute_metrics(metric.results)
    assert set(result) >= {f'{c}_Dice' for c in MMWHS_CLASSES[1:]}
    for idx, name in enumerate(MMWHS_CLASSES[1:], 1):
        dices, hds = [], []
        for pred, gt, spacing in preds.values():
            p, g = pred == idx, gt == idx
            if p.any() and g.any():
                dices.append(medpy.dc(p, g))
                hds.append(medpy.hd95(p, g, voxelspacing=spacing))
        assert result[f'{name}_Dice'] == pytest.approx(np.mean(dices))
        assert result[f'{name}_HD95'] == pytest.approx(np.mean(hds))


def test_montage_in_eight_colours(tmp_path):
    from ideal_mm.apis.visualize import overlay_labels, save_volume_montage
    palette = default_palette(8)
    labels = np.arange(8, dtype=np.uint8).reshape(2, 4).repeat(3, 0)
    gray = np.zeros(labels.shape, np.uint8)
    rgb = overlay_labels(gray, labels, palette, alpha=1.0)
    for value in range(1, 8):
        assert tuple(rgb[labels == value][0]) == tuple(palette[value])
    out = save_volume_montage(
        str(tmp_path / 'm.png'), np.random.rand(2, 6, 4),
        labels[None].repeat(2, 0), palette, MMWHS_CLASSES)
    assert osp.getsize(out) > 0
