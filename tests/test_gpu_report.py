"""tools/analysis/gpu_report.py: the CPU dry run through the real
subprocesses (every stage row, finite numbers), a failing stage and a
timed-out part as rows, and the pieces (log read-out, process-group kill,
import check) against hand-computed values."""
from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import time

import pytest

from ideal_mm.analysis.gpu_report import (DEFAULT_STAGES, ReportSettings,
                                          loop_rates, run_part)
from ideal_mm.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join('tools', 'analysis', 'gpu_report.py')


def run_tool(*args: str, timeout: float = 500):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, TOOL, *args],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=timeout,
                          env=env)


@pytest.fixture(scope='module')
def work_root(tmp_path_factory) -> str:
    """Phantom data and derived configs shared by the dry runs here (the
    second run reuses the data: same spec)."""
    return str(tmp_path_factory.mktemp('gpu_report_work'))


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_dry_run_cpu_every_stage(tmp_path, work_root):
    out = tmp_path / 'out'
    proc = run_tool('--out', str(out), '--work-root', work_root,
                    '--dry-run-cpu')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    md = (out / 'gpu_report.md').read_text()
    report = json.loads((out / 'gpu_report.json').read_text())
    rows = {(r['stage'], r['precision']): r for r in report['rows']}
    assert set(rows) == {(s, p)
                         for s in DEFAULT_STAGES
                         for p in ('fp32', 'bf16+cl')}
    for stage in DEFAULT_STAGES:
        row = rows[(stage, 'fp32')]
        model, loop = row['model'], row['loop']
        assert model['status'] == 'ok' and loop['status'] == 'ok', row
        for value in (model['rate'], model['step_ms'], model['memory_mib'],
                      loop['rate'], loop['step_ms']):
            assert _positive(value), (stage, row)
        assert math.isfinite(model['loss'])
        assert row['ratio'] == pytest.approx(loop['rate'] / model['rate'])
        assert 0.0 <= loop['data_wait'] < 1.0
        assert loop['timed_iters'] == 4  # dry run: 2 warm-up + 4 timed
        # pre-training has no validation; the other stages validate
        assert (loop['val_s_per_batch'] is None) == (stage == 'pretrain')
        amp = rows[(stage, 'bf16+cl')]
        assert amp['model']['status'] == 'skipped'
        assert amp['loop']['status'] == 'skipped'
        assert f'| {stage} | fp32 | {model["rate"]:.1f} | ' \
            f'{loop["rate"]:.1f} | {row["ratio"]:.2f} |' in md
        # the loop really went through tools/train.py
        with open(loop['log']) as f:
            assert 'tools/train.py' in f.readline()
    assert report['ddp']['status'] == 'skipped'
    assert 'DDP: skipped: 0 GPU(s) here' in md
    assert report['versions']['torch']
    assert report['data']['patients'] == 6
    assert '| stage | precision | model img/s | loop img/s |' in md


def test_failed_stage_and_timeout_are_rows(tmp_path, work_root):
    base = os.path.join(REPO, DEFAULT_STAGES['supervised'])
    broken = tmp_path / 'broken.py'
    broken.write_text(f'_base_ = [{base!r}]\n'
                      "model = dict(decode_head=dict(type='NoSuchHead'))\n")
    out = tmp_path / 'out'
    proc = run_tool('--out', str(out), '--work-root', work_root,
                    '--dry-run-cpu', '--stages', f'broken={broken}',
                    '--loop-timeout', '1')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / 'gpu_report.json').read_text())
    row = next(r for r in report['rows'] if r['precision'] == 'fp32')
    assert row['stage'] == 'broken'
    assert row['model']['status'] == 'failed'
    assert 'NoSuchHead' in row['model']['error']
    assert row['loop']['status'] == 'timed out'
    assert row['ratio'] is None
    md = (out / 'gpu_report.md').read_text()
    assert '| broken | fp32 | - | - | - |' in md
    assert 'model failed' in md and 'loop timed out' in md


def test_loop_rates_against_hand_computation():
    records = [
        dict(iter=2, time=9.0, data_time=8.0, loss=1.0, memory=900),  # warm
        dict(iter=4, time=0.5, data_time=0.1, loss=0.9, memory=700),
        dict(iter=6, time=0.3, data_time=0.05, loss=0.8, memory=800),
        dict(mDice=0.1, time=0.7, data_time=0.2, step=6),  # validation
    ]
    res = loop_rates(records, batch_size=2, warmup=2, interval=2)
    # 4 timed iterations of 2 images in 2 * (0.5 + 0.3) s
    assert res['rate'] == pytest.approx(8 / 1.6)
    assert res['step_ms'] == pytest.approx(400.0)
    assert res['data_wait'] == pytest.approx((0.2 + 0.1) / 1.6)
    assert res['memory_mib'] == 900  # the peak over the whole run
    assert res['val_s_per_batch'] == 0.7 and res['loss_finite']
    two = loop_rates(records, batch_size=2, warmup=2, interval=2, world_size=2)
    assert two['rate'] == pytest.approx(2 * res['rate'])
    with pytest.raises(ValueError, match='after the 6 warm-up'):
        loop_rates(records, batch_size=2, warmup=6, interval=2)


def test_run_part_timeout_kills_the_process_group(tmp_path):
    pid_file = tmp_path / 'pid'
    cmd = ['bash', '-c', f'sleep 60 & echo $! > {pid_file}; wait']
    t0 = time.monotonic()
    run = run_part(cmd, str(tmp_path / 'log'), timeout=1.0)
    assert run.status == 'timed out' and run.returncode is None
    assert time.monotonic() - t0 < 30
    grandchild = int(pid_file.read_text())
    for _ in range(50):  # reaped by init shortly after the kill
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f'sleep {grandchild} survived the time-out')


def test_run_part_failure_names_the_error(tmp_path):
    cmd = [sys.executable, '-c', "raise ValueError('bogus stage')"]
    run = run_part(cmd, str(tmp_path / 'log'), timeout=60)
    assert run.status == 'failed' and run.returncode == 1
    assert 'ValueError: bogus stage' in run.error


def test_settings_and_import_check():
    with pytest.raises(ConfigError, match='multiples of the log interval'):
        ReportSettings(loop_warmup=3, log_interval=2).check()
    with pytest.raises(ConfigError, match='divisible by 16'):
        ReportSettings(crop=(250, 256)).check()
    spec = importlib.util.spec_from_file_location('gpu_report_tool',
                                                  os.path.join(REPO, TOOL))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    missing = tool.missing_modules(
        (('json', 'json'), ('no_such_mod_26', 'nosuch-dist')))
    assert len(missing) == 1
    assert missing[0].startswith('no_such_mod_26 (pip: nosuch-dist): '
                                 'ModuleNotFoundError')


def test_device_wrapper_checks_imports_before_installing(tmp_path):
    """gpu_report.sh installs nothing where every module imports, and
    passes its arguments to the tool."""
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        OUT=str(tmp_path / 'out'),
        WORK_ROOT=str(tmp_path / 'work'))
    proc = subprocess.run([
        'bash',
        os.path.join('tools', 'analysis', 'gpu_report.sh'), '--check-imports'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300,
                          env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'nothing to install' in proc.stdout
    assert 'every required module imports' in proc.stdout
    assert (tmp_path / 'out' / 'pip_list.txt').is_file()
