"""Per-volume metrics: functional values against medpy, reports, and
ACDCVolumeMetric."""
import csv
import json
import math
import os

import numpy as np
import pytest
import torch

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
from medpy.metric import binary as mp
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample
from scipy.ndimage import gaussian_filter

from ideal_mm.errors import DataError
from ideal_mm.evaluation.functional import (ACDC_LABELS, binary_metrics,
                                            surface_distances, volume_metrics)
from ideal_mm.evaluation.report import (format_table, summarize, write_json,
                                        write_per_case_csv)

init_default_scope('mmseg')

SPACING = (7.5, 1.3, 1.7)


def blob_labels(rng, shape, sigma=(0.8, 3.0, 3.0)):
    """Random label map 0..3 of smooth blobs that touch the array borders."""
    noise = gaussian_filter(
        rng.standard_normal((4, ) + shape), sigma=(0, ) + sigma)
    lab = noise.argmax(0).astype(np.uint8)
    lab[noise.max(0) < np.quantile(noise.max(0), 0.4)] = 0
    return lab


def medpy_all(p, g, spacing):
    """Independent reference: medpy's five metrics with connectivity 1."""
    return {
        'dice': mp.dc(p, g),
        'jaccard': mp.jc(p, g),
        'hd95': mp.hd95(p, g, voxelspacing=spacing, connectivity=1),
        'asd': mp.asd(p, g, voxelspacing=spacing, connectivity=1),
        'assd': mp.assd(p, g, voxelspacing=spacing, connectivity=1),
    }


def assert_close(ours, ref):
    for key, expected in ref.items():
        assert ours[key] == pytest.approx(expected, rel=1e-6, abs=1e-12), key


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_volume_metrics_equal_medpy_on_random_blobs(seed):
    rng = np.random.default_rng(seed)
    shape = (6, 40, 48)
    gt = blob_labels(rng, shape)
    pred = gt.copy()
    # perturb: shift one class, flip a noisy band, add single-voxel objects
    pred[pred == 2] = 0
    pred[:, 2:, :][gt[:, :-2, :] == 2] = 2
    flip = rng.random(shape) < 0.05
    pred[flip] = rng.integers(0, 4, flip.sum())
    pred[0, 0, 0], gt[-1, -1,
                      -1] = 3, 1  # isolated voxels at corners (array border)
    assert (gt[0] > 0).any() and (gt[:, :, -1]
                                  > 0).any()  # objects touch the borders
    ours = volume_metrics(pred, gt, SPACING)
    assert list(ours) == ['RV', 'Myo', 'LV']
    for name, value in ACDC_LABELS.items():
        assert_close(ours[name], medpy_all(pred == value, gt == value,
                                           SPACING))


def test_single_voxel_objects_and_2d():
    p = np.zeros((5, 9, 9), bool)
    g = np.zeros_like(p)
    p[2, 4, 4] = True
    g[0, 0, 8] = True  # single voxels far apart, one on the array corner
    ours = binary_metrics(p, g, (3.0, 0.7, 1.1))
    assert_close(ours, medpy_all(p, g, (3.0, 0.7, 1.1)))
    assert ours['dice'] == 0.0 and ours['hd95'] == pytest.approx(
        math.sqrt(36 + 2.8**2 + 4.4**2))
    p2 = np.zeros((30, 20), bool)
    g2 = np.zeros_like(p2)
    p2[5:20, 3:12] = True
    g2[0:18, 0:10] = True  # touches the border
    assert_close(
        binary_metrics(p2, g2, (0.9, 1.4)), medpy_all(p2, g2, (0.9, 1.4)))


def test_surface_distances_equal_medpy_directed_sets():
    rng = np.random.default_rng(7)
    gt = blob_labels(rng, (5, 32, 32)) == 3
    pred = np.roll(gt, 3, axis=2)
    a, b = surface_distances(pred, gt, SPACING)
    private = getattr(mp, '__surface_distances')
    np.testing.assert_allclose(a, private(pred, gt, SPACING, 1), rtol=1e-12)
    np.testing.assert_allclose(b, private(gt, pred, SPACING, 1), rtol=1e-12)
    with pytest.raises(ValueError):
        surface_distances(np.zeros_like(gt), gt, SPACING)


def test_empty_mask_rules():
    gt = np.zeros((3, 10, 10), np.uint8)
    pred = np.zeros_like(gt)
    gt[1, 2:5, 2:5] = 1  # RV only in the reference
    pred[1, 6:8, 6:8] = 3  # LV only in the prediction
    res = volume_metrics(pred, gt, (5.0, 1.0, 1.0))
    for name in ('RV', 'LV'):
        assert res[name]['dice'] == 0.0 and res[name]['jaccard'] == 0.0
        assert all(math.isnan(res[name][k]) for k in ('hd95', 'asd', 'assd'))
    assert all(math.isnan(v) for v in res['Myo'].values())  # both empty
    all_empty = volume_metrics(pred * 0, gt * 0, (5.0, 1.0, 1.0))
    assert all(math.isnan(v) for c in all_empty.values() for v in c.values())
    with pytest.raises(ValueError, match='shape'):
        volume_metrics(pred[:2], gt, (5.0, 1.0, 1.0))
    with pytest.raises(ValueError, match='spacing'):
        volume_metrics(pred, gt, (1.0, 1.0))


def _case(name, rv, myo, lv):
    keys = ('dice', 'jaccard', 'hd95', 'asd', 'assd')
    return {
        'case': name,
        'RV': dict(zip(keys, rv)),
        'Myo': dict(zip(keys, myo)),
        'LV': dict(zip(keys, lv))
    }


def test_summary_form_nan_to_null_csv_and_table(tmp_path):
    nan = float('nan')
    cases = [
        _case('patient001_frame01', (0.8, 0.6, 4.0, 1.0, 1.2),
              (0.7, 0.5, 3.0, 0.9, 1.0), (0.9, 0.8, 2.0, 0.5, 0.6)),
        _case('patient001_frame12', (nan, nan, nan, nan, nan),
              (0.5, 0.3, 5.0, 1.1, 1.4), (0.0, 0.0, nan, nan, nan)),
    ]
    s = summarize(cases)
    assert set(s) >= {'per_class', 'mean', 'cases'}
    assert list(s['per_class']) == ['RV', 'Myo', 'LV']
    assert s['per_class']['RV']['dice'] == pytest.approx(0.8)  # NaN excluded
    assert s['per_class']['LV']['dice'] == pytest.approx(
        0.45)  # one-empty Dice 0 counts
    assert s['per_class']['LV']['hd95'] == pytest.approx(2.0)
    assert s['mean']['dice'] == pytest.approx((0.8 + 0.6 + 0.45) / 3)
    assert s['counts']['RV'] == {
        'num_cases': 2,
        'n_empty_both': 1,
        'n_one_empty': 0
    }
    assert s['counts']['LV'] == {
        'num_cases': 2,
        'n_empty_both': 0,
        'n_one_empty': 1
    }
    assert s['num_cases'] == 2

    path = tmp_path / 'out' / 'summary.json'
    write_json(str(path), s)
    text = path.read_text()
    assert 'NaN' not in text
    loaded = json.loads(text)
    assert loaded['cases'][1]['case'] == 'patient001_frame12'
    assert loaded['cases'][1]['RV']['dice'] is None and loaded['cases'][1][
        'LV']['hd95'] is None
    assert isinstance(loaded['per_class']['Myo']['hd95'], float)
    assert os.listdir(path.parent) == ['summary.json'
                                       ]  # no temporary file left

    csv_path = tmp_path / 'per_case.csv'
    write_per_case_csv(str(csv_path), cases)
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 6 and rows[0]['case'] == 'patient001_frame01' and rows[
        0]['class'] == 'RV'
    assert float(rows[2]['hd95']) == 2.0 and rows[3]['dice'] == ''

    table = format_table(s)
    lines = table.splitlines()
    for label in ('RV', 'Myo', 'LV', 'mean', 'Dice', 'Jaccard', 'HD95 (mm)',
                  'ASD (mm)', 'ASSD (mm)'):
        assert label in table
    assert any(
        line.startswith('| mean') and '0.6167' in line for line in lines)


def _samples(pred, volume_id, seg_map_path, spacing):
    out = []
    for k in range(pred.shape[0]):
        s = SegDataSample(
            metainfo=dict(
                volume_id=volume_id,
                slice_idx=k,
                num_slices=pred.shape[0],
                spacing=spacing,
                seg_map_path=seg_map_path,
                img_path=seg_map_path,
                ori_shape=pred.shape[1:]))
        s.pred_sem_seg = PixelData(
            data=torch.from_numpy(pred[k][None].astype(np.int64)))
        out.append(s)
    return out


def test_metric_reassembles_shuffled_slices(tmp_path):
    rng = np.random.default_rng(3)
    spacing = (10.0, 1.5, 1.25)
    samples, refs = [], {}
    for i in range(2):
        gt = blob_labels(rng, (4, 24, 28))
        pred = gt.copy()
        pred[rng.random(gt.shape) < 0.08] = 0
        vid = f'patient00{i + 1}_frame01'
        path = str(tmp_path / f'{vid}_gt.npy')
        np.save(path, gt)
        refs[vid] = (pred, gt)
        samples += _samples(pred, vid, path, spacing)
    order = rng.permutation(len(samples))
    out_dir = tmp_path / 'work'
    evaluator = Evaluator(
        METRICS.build(dict(type='ACDCVolumeMetric', out_dir=str(out_dir))))
    for start in range(0, len(order),
                       3):  # batches of 3 slices, shuffled across volumes
        evaluator.process([samples[j] for j in order[start:start + 3]])
    metrics = evaluator.evaluate(len(samples))

    expected = {n: [] for n in ACDC_LABELS}
    for vid, (pred, gt) in refs.items():
        for name, v in ACDC_LABELS.items():
            expected[name].append(medpy_all(pred == v, gt == v, spacing))
    for name in ACDC_LABELS:
        for key, log in (('dice', 'Dice'), ('hd95', 'HD95'), ('asd', 'ASD'),
                         ('jaccard', 'Jaccard'), ('assd', 'ASSD')):
            ref = np.mean([e[key] for e in expected[name]])
            assert metrics[f'{name}_{log}'] == pytest.approx(ref, rel=1e-6)
    assert metrics['mDice'] == pytest.approx(
        np.mean([metrics[f'{n}_Dice'] for n in ACDC_LABELS]))
    assert 0.0 <= metrics['mDice'] <= 1.0
    assert {'mDice', 'mJaccard', 'mHD95', 'mASD', 'mASSD'} <= set(metrics)

    summary = json.loads((out_dir / 'summary.json').read_text())
    assert [c['case'] for c in summary['cases']] == sorted(refs)
    assert summary['cases'][0]['LV']['dice'] == pytest.approx(
        expected['LV'][0]['dice'], rel=1e-6)
    assert len(list(csv.DictReader((out_dir / 'per_case.csv').open()))) == 6


def test_metric_missing_slice_and_shape_errors(tmp_path):
    gt = np.zeros((3, 8, 8), np.uint8)
    gt[:, 2:6, 2:6] = 3
    path = str(tmp_path / 'v_gt.npy')
    np.save(path, gt)
    metric = METRICS.build(dict(type='ACDCVolumeMetric'))
    samples = _samples(gt, 'patient003_frame01', path, (5.0, 1.0, 1.0))
    metric.process(None, [s.to_dict() for s in samples[:1] + samples[2:]])
    with pytest.raises(DataError, match=r'patient003_frame01.*missing \[1\]'):
        metric.compute_metrics(metric.results)

    metric = METRICS.build(dict(type='ACDCVolumeMetric'))
    metric.process(None, [
        s.to_dict()
        for s in _samples(gt[:, :7], 'patient003_frame01', path, (5.0, 1.0,
                                                                  1.0))
    ])
    with pytest.raises(DataError, match='shape'):
        metric.compute_metrics(metric.results)
