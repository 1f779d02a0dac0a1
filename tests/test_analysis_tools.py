"""tools/analysis/plot_curves.py, tools/analysis/summarize.py and the
ACDC visualisation hook, on synthetic work dirs and cached volumes."""
from __future__ import annotations

import importlib.util
import json
import os
import sys

import numpy as np
import pytest
import torch

import ideal_mm  # noqa: F401
from ideal_mm.analysis import curves as curves_api
from ideal_mm.errors import ConfigError, DataError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load(rel: str):
    name = 'ideal_mm_tool_' + os.path.basename(rel)[:-3]
    spec = importlib.util.spec_from_file_location(name,
                                                  os.path.join(REPO, rel))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


plot_curves = _load('tools/analysis/plot_curves.py')
summarize = _load('tools/analysis/summarize.py')


def write_scalars(work_dir, timestamp, lines):
    folder = os.path.join(work_dir, timestamp, 'vis_data')
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'scalars.json'), 'w') as f:
        for line in lines:
            f.write(json.dumps(line) + '\n')


# ------------------------------------------------------------ plot_curves
def test_plot_curves_merges_timestamps_and_plots_runs(tmp_path, capsys):
    run_a = str(tmp_path / 'ideal_unet_1xb24-30k_acdc-3pat')
    run_b = str(tmp_path / 'supervised_unet_1xb24-30k_acdc-3pat')
    write_scalars(
        run_a,
        '20240101_000000',
        [
            {
                'loss': 2.0,
                'lr': 0.01,
                'iter': 10,
                'step': 10
            },
            {
                'loss': 1.5,
                'lr': 0.01,
                'iter': 20,
                'step': 20
            },
            {
                'mDice': 0.40,
                'mHD95': float('nan'),
                'step': 20
            },
            {
                'loss': 9.9,
                'iter': 30,
                'step': 30
            },  # superseded after resume
        ])
    # resumed from iteration 20: a later timestamp folder
    write_scalars(run_a, '20240102_000000', [
        {
            'loss': 1.2,
            'iter': 30,
            'step': 30
        },
        {
            'loss': 1.0,
            'iter': 40,
            'step': 40
        },
        {
            'mDice': 0.55,
            'step': 40
        },
    ])
    with open(
            os.path.join(run_a, '20240102_000000', 'vis_data', 'scalars.json'),
            'a') as f:
        f.write('{"loss": 0.5, "it')  # killed mid-write
    write_scalars(run_b, '20240101_000000', [
        {
            'loss': 3.0,
            'iter': 10,
            'step': 10
        },
        {
            'val/mDice': 0.3,
            'step': 20
        },
    ])
    out = str(tmp_path / 'curves.png')
    assert plot_curves.main(
        [run_a, run_b, '--keys', 'loss', 'mDice', '--out', out]) == 0
    assert os.path.getsize(out) > 1000
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'

    files = curves_api.scalar_files(run_a)
    curves = curves_api.read_scalars(files)
    assert curves_api.series(curves['loss']) == ([10, 20, 30,
                                                  40], [2.0, 1.5, 1.2, 1.0])
    assert curves_api.series(curves['mDice']) == ([20, 40], [0.40, 0.55])
    assert curves_api.series(curves['mHD95']) == ([], [])
    latest = curves_api.read_scalars(curves_api.scalar_files(run_a, True))
    assert curves_api.series(latest['loss']) == ([30, 40], [1.2, 1.0])
    text = capsys.readouterr().out
    assert 'mDice [supervised_unet_1xb24-30k_acdc-3pat]: 1 points' in text


def test_plot_curves_unknown_key_lists_available(tmp_path):
    run = str(tmp_path / 'run')
    write_scalars(run, '20240101_000000', [{
        'loss': 1.0,
        'step': 1
    }, {
        'mDice': 0.5,
        'step': 1
    }])
    with pytest.raises(
            ConfigError, match=r'mIoU.*available keys: loss, mDice'):
        plot_curves.main(
            [run, '--keys', 'mIoU', '--out',
             str(tmp_path / 'c.png')])
    assert not os.path.exists(tmp_path / 'c.png')
    with pytest.raises(DataError, match='scalars.json'):
        plot_curves.main([str(tmp_path), '--out', str(tmp_path / 'c.png')])


# -------------------------------------------------------------- summarize
def fake_summary(dice, hd95, asd):
    """summary.json form with per-class values; means computed here."""
    per_class = {
        c: {
            'dice': d,
            'jaccard': d / (2 - d),
            'hd95': h,
            'asd': a,
            'assd': a
        }
        for c, d, h, a in zip(('RV', 'Myo', 'LV'), dice, hd95, asd)
    }
    mean = {
        m: float(np.mean([per_class[c][m] for c in per_class]))
        for m in ('dice', 'jaccard', 'hd95', 'asd', 'assd')
    }
    return {'per_class': per_class, 'mean': mean, 'cases': []}


def make_run(root, name, summary, run_info=None, config_text=None):
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'summary.json'), 'w') as f:
        json.dump(summary, f)
    if run_info is not None:
        with open(os.path.join(folder, 'run_info.json'), 'w') as f:
            json.dump(run_info, f)
    if config_text is not None:
        with open(os.path.join(folder, 'my_config.py'), 'w') as f:
            f.write(config_text)
    return folder


def test_summarize_methods_by_budgets(tmp_path, capsys):
    root = str(tmp_path)
    s1 = fake_summary((0.80, 0.70, 0.90), (10.0, 6.0, 4.0), (2.0, 1.0, 1.0))
    s2 = fake_summary((0.60, 0.50, 0.70), (20.0, 9.0, 8.0), (4.0, 2.0, 3.0))
    s3 = fake_summary((0.70, 0.60, 0.80), (12.0, 7.0, 5.0), (3.0, 1.5, 1.5))
    runs = [
        make_run(root, 'ideal_unet_1xb24-30k_acdc-3pat', s1),
        make_run(root, 'supervised_unet_1xb24-30k_acdc-3pat', s2),
        make_run(root, 'supervised_unet_1xb24-30k_acdc-1.25pct', s3),
        # seed 2 of IDEAL 3 pat, named freely, identified by run_info.json
        make_run(
            root,
            'seed2',
            s2,
            run_info={
                'method': 'ideal_unet',
                'label_budget': 3
            }),
        # identified by the config dump only
        make_run(
            root,
            'my_run',
            s3,
            config_text=("method = 'mean_teacher'\nlabel_budget = 0.0125\n"
                         "model = dict(type='EncoderDecoder')\n")),
    ]
    out = str(tmp_path / 'results.md')
    assert summarize.main(runs + ['--out', out]) == 0
    text = open(out).read()
    assert text in capsys.readouterr().out
    lines = text.splitlines()
    assert '| Method | 3 pat | 1.25% |' in lines
    # IDEAL 3 pat = mean of s1 and s2 means, ± their sample std (ddof=1)
    cell = []
    for m, fmt in (('dice', '.3f'), ('hd95', '.2f'), ('asd', '.2f')):
        pair = [s1['mean'][m], s2['mean'][m]]
        cell.append(f'{np.mean(pair):{fmt}}±{np.std(pair, ddof=1):{fmt}}')
    assert f'| ideal_unet | {" / ".join(cell)} (n=2) |  |' in lines
    assert '±' not in lines[lines.index('| Method | 3 pat | 1.25% |') +
                            3]  # a single run has no spread
    sup = [
        f'{s["mean"]["dice"]:.3f} / {s["mean"]["hd95"]:.2f} / '
        f'{s["mean"]["asd"]:.2f}' for s in (s2, s3)
    ]
    assert f'| supervised_unet | {sup[0]} | {sup[1]} |' in lines
    assert f'| mean_teacher |  | {sup[1]} |' in lines
    assert '| supervised_unet | 1.25% | 0.700 / 12.00 / 3.00 | ' \
        '0.600 / 7.00 / 1.50 | 0.800 / 5.00 / 1.50 |' in lines


def test_summarize_budget_parsing_and_missing_summary(tmp_path):
    from ideal_mm.analysis.summaries import parse_budget as parse
    assert parse(3).label == '3 pat'
    assert parse(0.0125).label == '1.25%'
    assert parse(1.0).label == '100%'
    assert parse('100pct').label == '100%'
    assert parse('7pat').label == '7 pat'
    assert parse(None) is None
    folder = tmp_path / 'untested_run'
    (folder / 'val').mkdir(parents=True)
    (folder / 'val' / 'summary.json').write_text('{}')
    with pytest.raises(DataError, match='tools/test.py'):
        summarize.main([str(folder)])


# ------------------------------------------------------ visualisation hook
def test_visualization_hook_draws_cached_slices(tmp_path):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    from mmseg.visualization import SegLocalVisualizer

    from ideal_mm.engine.visualization_hook import ACDCVisualizationHook

    volume = np.random.default_rng(0).random((3, 24, 20)).astype(np.float32)
    img_path = str(tmp_path / 'patient001_frame01_img.npy')
    np.save(img_path, volume)
    visualizer = SegLocalVisualizer.get_instance(
        'acdc_hook_test',
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path / 'vis'))
    visualizer.dataset_meta = dict(
        classes=('background', 'RV', 'Myo', 'LV'),
        palette=[[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200]])
    hook = ACDCVisualizationHook(draw=True, interval=1, max_samples=2)

    def sample(k):
        s = SegDataSample(
            metainfo=dict(
                img_path=img_path,
                slice_idx=k,
                volume_id='patient001_frame01',
                ori_shape=(24, 20)))
        pred = torch.zeros(1, 24, 20, dtype=torch.long)
        pred[0, 5:15, 5:12] = 3
        s.pred_sem_seg = PixelData(data=pred)
        # reference resized by the pipeline (32 x 32): the hook fits it
        s.gt_sem_seg = PixelData(data=torch.ones(1, 32, 32, dtype=torch.long))
        return s

    class Runner:
        iter = 7

    hook.before_val_epoch(Runner())
    hook.after_val_iter(Runner(), 0, {}, [sample(0), sample(1), sample(2)])
    vis_dir = next(p for p, _, files in os.walk(tmp_path / 'vis') if any(
        f.endswith('.png') for f in files))
    pngs = sorted(os.listdir(vis_dir))
    assert pngs == [
        'val_patient001_frame01_s00_7.png', 'val_patient001_frame01_s01_7.png'
    ]
    import cv2
    img = cv2.imread(os.path.join(vis_dir, pngs[0]))
    assert img.shape == (24, 40, 3)  # gt | prediction, side by side
    hook.after_test_iter(Runner(), 0, {}, [sample(2)])
    assert 'test_patient001_frame01_s02_7.png' in os.listdir(vis_dir)
