"""tools/analysis/benchmark.py on phantom data: every section prints
numbers."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM = r'([0-9]+(?:\.[0-9]+)?)'


def write_config(tmp_path, data_root: str, split_cfg: dict) -> str:
    """The supervised demo with a tiny UNet, batch 2, no workers."""
    base = os.path.join(REPO, 'configs', 'demo', 'supervised_unet_phantom.py')
    path = tmp_path / 'bench_tiny.py'
    path.write_text(f'''
_base_ = [{base!r}]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={data_root!r}, split_cfg={split_cfg!r}))
val_dataloader = dict(num_workers=0, persistent_workers=False,
    dataset=dict(data_root={data_root!r}, split_cfg={split_cfg!r}))
test_dataloader = val_dataloader
model = dict(backbone=dict(base_channels=4),
             decode_head=dict(in_channels=4, channels=4))
''')
    return str(path)


def run_benchmark(*args: str):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, 'tools/analysis/benchmark.py', *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        env=env)


def number(pattern: str, text: str) -> float:
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f'{pattern!r} not in output:\n{text}'
    return float(match.group(1))


def test_benchmark_prints_every_section(tmp_path, phantom_root,
                                        phantom_split_cfg):
    cfg = write_config(tmp_path, phantom_root, phantom_split_cfg)
    res = run_benchmark(cfg, '--iters', '2', '--warmup', '1', '--crop', '32',
                        '32', '--device', 'cpu', '--amp', '--channels-last',
                        '--data-samples', '10', '--inference',
                        '--inference-volumes', '1')
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    assert 'setup: device cpu, batch 2, crop 32x32, amp bf16, ' \
        'channels_last on' in out
    model = number(rf'^\(a\) model only: {NUM} images/s', out)
    full = number(rf'^\(b\) full runner: {NUM} images/s', out)
    worker = number(
        rf'^\(c\) data pipeline, 1 worker in-process: {NUM} '
        r'samples/s', out)
    loader = number(
        rf'^\(c\) data pipeline, DataLoader with 0 workers: '
        rf'{NUM} samples/s', out)
    assert min(model, full, worker, loader) > 0
    assert number(rf'^\(d\) peak memory, model only: {NUM} MiB', out) > 0
    assert number(rf'^\(d\) peak memory, runner: {NUM} MiB', out) > 0
    # the per-transform times name the config's pipeline
    assert re.search(
        r'per transform \(us/sample\): LoadACDCSlice \d+, '
        r'RandomAffineResize \d+, RandomIntensity \d+, '
        r'PackSegInputs \d+', out)
    assert "bf16 (torch.autocast('cpu'))" in out
    assert 'AMP skipped on CPU' in out
    assert number(rf'^inference: {NUM} volumes/s', out) > 0
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(rf'ratios: full/model = {NUM}, data/needed = {NUM}',
                         last)
    assert match, last
    assert abs(float(match.group(1)) - full / model) < 0.01 + 0.01 * (
        full / model)
    assert abs(float(match.group(2)) - loader / model) < 0.01 + 0.01 * (
        loader / model)


def test_benchmark_pretraining_model_only_section(tmp_path, phantom_root,
                                                  phantom_split_cfg):
    cfg = os.path.join(REPO, 'configs', 'demo',
                       'ideal_unet_phantom_pretrain.py')
    res = run_benchmark(cfg, '--iters', '1', '--warmup', '0', '--crop', '32',
                        '32', '--batch-size', '2', '--sections', 'model',
                        '--device', 'cpu')
    assert res.returncode == 0, res.stderr[-3000:]
    assert number(rf'^\(a\) model only: {NUM} images/s', res.stdout) > 0
    assert res.stdout.strip().splitlines()[-1] == \
        'ratios: full/model = n/a, data/needed = n/a'


def test_benchmark_reports_a_missing_config(tmp_path):
    res = run_benchmark(str(tmp_path / 'nope.py'))
    assert res.returncode != 0
    assert 'Traceback' not in res.stderr
    assert 'nope.py' in res.stderr


def test_interleaved_alternates_and_takes_per_round_ratios():
    from ideal_mm.engine.benchmark import interleaved
    calls = []
    a_times = iter([9.0, 1.0, 4.0, 2.0, 8.0])
    b_times = iter([5.0, 0.5, 1.0, 2.0, 2.0])

    def a():
        calls.append('a')
        return next(a_times)

    def b():
        calls.append('b')
        return next(b_times)

    res = interleaved([a, b], iters=3, warmup=2)
    # one step of each in turn; first step, one more warm-up, 3 timed
    assert calls == ['a', 'b'] * 5
    assert res['first'] == [9.0, 5.0]
    assert res['times'] == [[4.0, 2.0, 8.0], [1.0, 2.0, 2.0]]
    assert res['median'] == [4.0, 2.0]
    # per-round ratios 4, 1, 4: their median, not 4.0 / 2.0 of the medians
    assert res['ratio'] == [4.0]


def test_benchmark_ab_batch_crop_threads(tmp_path, phantom_root,
                                         phantom_split_cfg):
    cfg = write_config(tmp_path, phantom_root, phantom_split_cfg)
    res = run_benchmark(cfg, '--sections', 'model', '--device', 'cpu',
                        '--crop', '64', '64', '--iters', '2', '--warmup', '1',
                        '--ab', '--ab-batch', '1', '--ab-crop', '32', '32',
                        '--channels-last', '--threads', '1')
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    assert '1 torch threads' in out
    # the options' batch is made at their crop, not the config's
    assert 'ab: inputs (1, 64, 64) vs (1, 32, 32)' in out
    assert re.search(
        r'^ab: baseline batch 2 64x64 fp32: [0-9.]+ ms/step '
        r'median .*options batch 1 32x32 fp32, channels_last '
        r'on, compile off, threads same', out, re.MULTILINE)
    step = number(rf'speed-up baseline/options = {NUM} per step', out)
    image = number(rf'per step, {NUM} per image', out)
    assert image == pytest.approx(step / 2, abs=0.01)
    assert '(a) model only' not in out
    bad = run_benchmark(cfg, '--ab', '--ab-batch', '0')
    assert bad.returncode != 0 and '--ab-batch must be >= 1' in bad.stderr
