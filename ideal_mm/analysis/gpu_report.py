"""The GPU report: every training stage measured on one device, one table.

For each stage (supervised UNet, IDEAL pre-training, IDEAL fine-tuning in
the paper's form, the BCP option) and each precision (fp32; bf16 AMP +
channels_last) it measures

* model only: images/s of ``train_step`` on a synthetic on-device batch
  (:func:`ideal_mm.engine.benchmark.model_only`), peak memory;
* full loop: ``tools/train.py`` itself (mmengine Runner, the config's
  DataLoader with its workers, hooks, logging, validation at the end) on
  phantom ACDC data at ACDC's size; images/s and the data-wait share from
  the runner's own IterTimerHook ``time`` / ``data_time`` in its
  ``scalars.json`` after the warm-up iterations, the peak memory mmengine
  logs (``max_memory_allocated``), the validation time per batch;
* their ratio (full loop / model only);

then a 2-process DDP run through ``tools/dist_train.sh`` (NCCL) where two
GPUs exist, else a line saying why it was skipped.

Why new code: ``tools/analysis/benchmark.py`` measures one config per call
in one process with validation and logging off; a device session has a few
minutes in all, so this runs every stage and precision in one command, each
part in its own process with its own time limit (a hang or crash is that
part's row, not the end of the report), within one overall budget, through
the real training command line. The parts are
:mod:`ideal_mm.analysis.gpu_report_part` (data, configs, model only),
``tools/train.py`` and ``tools/dist_train.sh``.
"""
from __future__ import annotations

import dataclasses
import glob
import json
import math
import os
import os.path as osp
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..atomic_files import atomic_write_json, atomic_write_text
from ..errors import ConfigError

#: The stages measured by default: name -> config (relative to the repo).
DEFAULT_STAGES: Dict[str, str] = {
    'supervised': 'configs/baselines/supervised_unet_1xb24-30k_acdc-7pat.py',
    'pretrain': 'configs/ideal/unet_acdc_pretrain.py',
    'finetune': 'configs/ideal/ideal_unet_1xb24-30k_acdc-7pat.py',
    'bcp': 'configs/ideal/ideal_bcp_unet_1xb24-30k_acdc-7pat.py',
}
FP32, AMP_CL = 'fp32', 'bf16+cl'
PRECISIONS = (FP32, AMP_CL)
#: Reference model-only rates on one H100 (issue 6; plain PyTorch, batch
#: 24x1x256x256, SGD): (fp32, bf16 + channels_last) images/s.
REFERENCE = {
    'supervised': (556, 1265),  # mmseg UNet base16 + FCNHead
    'finetune': (450, 1000),  # two-stream model
    'bcp': (450, 1000),
}


@dataclasses.dataclass
class ReportSettings:
    """Sizes, iterations and time limits of one report (seconds)."""

    device: str = 'cuda'
    batch_size: int = 24
    crop: Tuple[int, int] = (256, 256)
    workers: Optional[int] = None  # None: the config's num_workers
    model_warmup: int = 10
    model_iters: int = 30
    loop_warmup: int = 10  # a multiple of log_interval
    loop_iters: int = 60
    log_interval: int = 10
    patients: int = 20
    size: Any = ((208, 232), (232, 256))
    slices: Tuple[int, int] = (8, 10)
    num_val: int = 2
    num_test: int = 2
    label_budget: Optional[int] = None  # None: the config's
    budget_s: float = 450.0
    prepare_timeout: float = 120.0
    model_timeout: float = 90.0
    loop_timeout: float = 150.0
    ddp_timeout: float = 150.0
    min_part_s: float = 10.0  # no part starts with less left
    ddp_stage: str = 'finetune'
    ddp_gpus: int = 2

    def check(self) -> None:
        """Raise ConfigError for settings the report cannot use."""
        if self.loop_warmup % self.log_interval or \
                self.loop_iters % self.log_interval or self.loop_iters < 1:
            raise ConfigError(
                f'loop warm-up ({self.loop_warmup}) and iterations '
                f'({self.loop_iters}) must be multiples of the log interval '
                f'({self.log_interval}), iterations >= 1: each logged time '
                'is the mean over one interval')
        if any(c % 16 for c in self.crop):
            raise ConfigError(f'crop {self.crop} must be divisible by 16 '
                              '(4 UNet downsamplings)')


def gpu_settings() -> ReportSettings:
    """The device run: batch 24 at 256x256, phantom at ACDC's size."""
    return ReportSettings()


def dry_run_settings() -> ReportSettings:
    """Tiny sizes that run on a CPU in well under a minute; AMP rows are
    skipped there (mmengine's AmpOptimWrapper needs an accelerator)."""
    return ReportSettings(
        device='cpu',
        batch_size=2,
        crop=(32, 32),
        workers=1,
        model_warmup=1,
        model_iters=2,
        loop_warmup=2,
        loop_iters=4,
        log_interval=2,
        patients=6,
        size=(40, 48),
        slices=(3, 4),
        num_val=1,
        num_test=1,
        label_budget=2,
        budget_s=600.0,
        prepare_timeout=120.0,
        model_timeout=120.0,
        loop_timeout=180.0,
        ddp_timeout=120.0,
        min_part_s=3.0)


def repo_root() -> str:
    """The checkout holding ``tools/`` next to the ``ideal_mm`` package."""
    return osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


# --------------------------------------------------------------- parts
@dataclasses.dataclass
class PartRun:
    """How one subprocess ended: status 'ok', 'failed' or 'timed out'."""

    status: str
    returncode: Optional[int]
    wall_s: float
    log: str
    error: str = ''


def _log_error(log: str) -> str:
    """The most telling line of a failed part's log: the last line that
    names an error, else the last non-empty line."""
    try:
        with open(log, errors='replace') as f:
            lines = [ln.strip() for ln in f.read().splitlines()[-200:]]
    except OSError:
        return ''
    lines = [ln for ln in lines if ln]
    for ln in reversed(lines):
        if 'Error' in ln or 'error:' in ln or 'Exception' in ln:
            return ln[:300]
    return lines[-1][:300] if lines else ''


def run_part(cmd: List[str],
             log: str,
             timeout: float,
             env: Optional[Dict[str, str]] = None,
             cwd: Optional[str] = None) -> PartRun:
    """Run ``cmd`` in its own session (process group) with its output in
    ``log``; after ``timeout`` seconds the whole group (DataLoader workers,
    torchrun's ranks) is terminated, then killed."""
    os.makedirs(osp.dirname(osp.abspath(log)), exist_ok=True)
    t0 = time.monotonic()
    with open(log, 'w') as f:
        f.write('$ ' + ' '.join(cmd) + '\n')
        f.flush()
        proc = subprocess.Popen(
            cmd,
            stdout=f,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True)
        try:
            code = proc.wait(timeout=max(timeout, 0.1))
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return PartRun('timed out', None,
                           time.monotonic() - t0, log,
                           f'no result within the {timeout:.0f} s limit')
    wall = time.monotonic() - t0
    if code != 0:
        return PartRun('failed', code, wall, log,
                       _log_error(log) or f'exit status {code}')
    return PartRun('ok', 0, wall, log)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group of ``proc``, then, 5 s later, SIGKILL to
    whatever of the group is left (e.g. DataLoader workers)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break  # the whole group is gone
        try:
            proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            continue  # still alive: escalate to the next signal
    proc.wait()


def _read_json(path: str) -> Optional[dict]:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# ------------------------------------------------------ loop read-out
def loop_scalars(work_dir: str) -> List[dict]:
    """The records of the newest ``scalars.json`` under ``work_dir``
    (mmengine's LocalVisBackend; rank 0 writes it)."""
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        return []
    records = []
    with open(files[-1]) as f:
        for line in f:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    return records


def loop_rates(records: Sequence[dict],
               batch_size: int,
               warmup: int,
               interval: int,
               world_size: int = 1) -> Dict[str, Any]:
    """Full-loop figures from the runner's logged records.

    A train record (it has ``iter``) logged at iteration i holds the means
    of IterTimerHook's ``time`` (data wait + step + hooks) and
    ``data_time`` over iterations i - interval + 1 .. i (the log window is
    the interval). Records covering only iterations after ``warmup`` count:
    images/s = world_size * batch_size * n / sum(time), data wait =
    sum(data_time) / sum(time). ``memory`` (MiB, max_memory_allocated,
    logged on CUDA only) gives the peak; a record without ``iter`` but with
    ``time`` is the validation epoch (mean time per val batch).

    Raises:
        ValueError: no train record after the warm-up.
    """
    train = [r for r in records if 'iter' in r and 'time' in r]
    timed = [r for r in train if r['iter'] - interval >= warmup]
    if not timed:
        raise ValueError(
            f'no logged training iterations after the {warmup} warm-up '
            f'iterations ({len(train)} train records)')
    t = sum(r['time'] for r in timed) * interval
    d = sum(r.get('data_time', 0.0) for r in timed) * interval
    n = len(timed) * interval
    out: Dict[str, Any] = dict(
        rate=world_size * batch_size * n / t,
        step_ms=t / n * 1e3,
        data_wait=d / t,
        timed_iters=n)
    memory = [r['memory'] for r in train if 'memory' in r]
    out['memory_mib'] = float(max(memory)) if memory else None
    val = [r for r in records if 'iter' not in r and 'time' in r]
    out['val_s_per_batch'] = float(val[-1]['time']) if val else None
    finite = all(math.isfinite(r.get('loss', 0.0)) for r in train)
    out['loss_finite'] = finite
    return out


# ------------------------------------------------------------ report
@dataclasses.dataclass
class Report:
    """Everything the table and the JSON hold."""

    mode: str
    settings: Dict[str, Any]
    versions: Dict[str, Any] = dataclasses.field(default_factory=dict)
    data: Dict[str, Any] = dataclasses.field(default_factory=dict)
    rows: List[Dict[str, Any]] = dataclasses.field(default_factory=list)
    ddp: Dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: List[str] = dataclasses.field(default_factory=list)
    started: str = ''
    wall_s: float = 0.0


def _fmt(value: Any, spec: str = '.0f', empty: str = '-') -> str:
    if value is None or (isinstance(value, float)
                         and not math.isfinite(value)):
        return empty
    return format(value, spec)


def _part_cell(part: Dict[str, Any], key: str, spec: str) -> str:
    if part.get('status') != 'ok':
        return '-'
    return _fmt(part.get(key), spec)


def row_status(row: Dict[str, Any]) -> str:
    """'ok' when both parts are; otherwise what went wrong, part by part
    (once when both parts share the status and the reason)."""
    parts = [row.get(name) or {} for name in ('model', 'loop')]
    if len({(p.get('status'), p.get('error')) for p in parts}) == 1 and \
            parts[0].get('status') not in ('ok', None):
        return f"{parts[0]['status']}: {parts[0].get('error', '')}"
    bad = []
    for name in ('model', 'loop'):
        part = row.get(name) or {}
        status = part.get('status', 'missing')
        if status != 'ok':
            reason = part.get('error') or ''
            bad.append(f'{name} {status}' + (f': {reason}' if reason else ''))
    return 'ok' if not bad else '; '.join(bad)


def markdown(report: Report) -> str:
    """The report as markdown: facts, the table, the DDP line, notes."""
    v = report.versions
    s = report.settings
    gpus = ', '.join(v.get('gpus') or []) or 'none'
    lines = [
        f'# GPU report ({report.mode})',
        '',
        f'- device: {gpus} ({v.get("gpu_count", 0)} GPU(s), '
        f'{v.get("gpu_memory_gib", "-")} GiB); {v.get("cpu_count", "?")} '
        'CPUs',
        f'- torch {v.get("torch", "?")}, CUDA {v.get("cuda")}, cuDNN '
        f'{v.get("cudnn")}, Python {v.get("python", "?")}; mmengine '
        f'{v.get("mmengine", "?")}, mmseg {v.get("mmseg", "?")}, mmcv '
        f'{v.get("mmcv", "?")}, ideal_mm {v.get("ideal_mm", "?")}',
        f'- batch {s["batch_size"]} at {s["crop"][0]}x{s["crop"][1]}; '
        f'model only: {s["model_warmup"]} warm-up + {s["model_iters"]} '
        f'timed steps (median); full loop: {s["loop_warmup"]} warm-up + '
        f'{s["loop_iters"]} timed iterations, validation at the end',
        f'- data: phantom ACDC, {report.data.get("patients", "?")} patients,'
        f' {report.data.get("size", "?")} pixels, '
        f'{report.data.get("slices", "?")} slices per frame',
        f'- started {report.started}, {report.wall_s:.0f} s in all',
        '',
        '| stage | precision | model img/s | loop img/s | loop/model | '
        'data wait | peak MiB model / loop | val s/batch | status |',
        '|---|---|---|---|---|---|---|---|---|',
    ]
    for row in report.rows:
        m, lp = row.get('model') or {}, row.get('loop') or {}
        ratio = _fmt(row.get('ratio'), '.2f')
        wait = _part_cell(lp, 'data_wait', '.1%')
        mem = (f'{_part_cell(m, "memory_mib", ".0f")} / '
               f'{_part_cell(lp, "memory_mib", ".0f")}')
        lines.append(
            f'| {row["stage"]} | {row["precision"]} | '
            f'{_part_cell(m, "rate", ".1f")} | '
            f'{_part_cell(lp, "rate", ".1f")} | {ratio} | {wait} | {mem} | '
            f'{_part_cell(lp, "val_s_per_batch", ".3f")} | '
            f'{row_status(row).replace("|", "/")} |')
    lines.append('')
    ddp = report.ddp
    if ddp.get('status') == 'ok':
        lines.append(
            f'DDP ({ddp["gpus"]} processes, {ddp["stage"]}, '
            f'{ddp["precision"]}, tools/dist_train.sh): '
            f'{ddp["rate"]:.1f} img/s in all, '
            f'{_fmt(ddp.get("scaling"), ".2f")}x the one-GPU loop, data '
            f'wait {ddp["data_wait"]:.1%}, peak '
            f'{_fmt(ddp.get("memory_mib"))} MiB on rank 0.')
    else:
        lines.append(f'DDP: {ddp.get("status", "not run")}: '
                     f'{ddp.get("error", "")}'.rstrip(': '))
    if report.notes:
        lines += [''] + [f'- {n}' for n in report.notes]
    return '\n'.join(lines) + '\n'


def _write(report: Report, out_dir: str) -> Tuple[str, str]:
    """Write gpu_report.md and gpu_report.json atomically."""
    md = osp.join(out_dir, 'gpu_report.md')
    js = osp.join(out_dir, 'gpu_report.json')
    atomic_write_text(md, markdown(report))
    atomic_write_json(js, dataclasses.asdict(report))
    return md, js


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class _Budget:
    """The report's overall time budget."""

    def __init__(self, seconds: float, min_part: float) -> None:
        self.end = time.monotonic() + seconds
        self.min_part = min_part

    def limit(self, part_timeout: float) -> Optional[float]:
        """The time limit of the next part, None when too little is left."""
        left = self.end - time.monotonic()
        if left < self.min_part:
            return None
        return min(part_timeout, left)


def run_report(out_dir: str,
               settings: ReportSettings,
               stages: Optional[Dict[str, str]] = None,
               work_root: Optional[str] = None,
               mode: str = 'gpu',
               echo: Callable[[str], None] = print) -> Report:
    """Measure every stage and precision; write the table under
    ``out_dir`` (gpu_report.md, gpu_report.json, logs/); return it.

    ``work_root`` holds the phantom data, the derived configs and the work
    dirs (default ``<out_dir>/../gpu_report_work``; on a device keep it out
    of $OUT, which is copied back). Failures and time-outs become rows.
    """
    settings.check()
    stages = dict(stages or DEFAULT_STAGES)
    root = repo_root()
    out_dir = osp.abspath(out_dir)
    work_root = osp.abspath(
        work_root or osp.join(osp.dirname(out_dir), 'gpu_report_work'))
    logs = osp.join(out_dir, 'logs')
    results = osp.join(work_root, 'results')
    os.makedirs(results, exist_ok=True)
    t_start = time.monotonic()
    budget = _Budget(settings.budget_s, settings.min_part_s)
    report = Report(
        mode=mode,
        settings=dataclasses.asdict(settings),
        started=time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()))
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    env['PYTHONPATH'] = root + (
        os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH') else '')
    if settings.device == 'cpu':
        env.setdefault('OMP_NUM_THREADS', '1')
    py = sys.executable
    part_mod = 'ideal_mm.analysis.gpu_report_part'

    # 1. data, derived configs, cache, versions
    s_json = json.dumps(dataclasses.asdict(settings))
    prep_json = osp.join(results, 'prepare.json')
    if osp.exists(prep_json):
        os.remove(prep_json)
    cmd = [
        py, '-m', part_mod, 'prepare', '--work-root', work_root, '--settings',
        s_json, '--result', prep_json
    ]
    for name, cfg in stages.items():
        cmd += [
            '--stage', name,
            osp.join(root, cfg) if not osp.isabs(cfg) else cfg
        ]
    echo(f'[gpu_report] preparing data and configs ({len(stages)} stages)')
    run = run_part(cmd, osp.join(logs, 'prepare.log'),
                   budget.limit(settings.prepare_timeout) or 1.0, env, root)
    prep = _read_json(prep_json) or {}
    report.versions = prep.get('versions', {})
    report.data = prep.get('data', {})
    if run.status != 'ok' or prep.get('status') != 'ok':
        error = prep.get('error') or run.error
        report.notes.append(f'preparation {run.status}: {error}')
        for name in stages:
            for precision in PRECISIONS:
                part = dict(status='skipped', error='preparation failed')
                report.rows.append(
                    dict(
                        stage=name,
                        precision=precision,
                        config=stages[name],
                        model=part,
                        loop=part,
                        ratio=None))
        report.ddp = dict(status='skipped', error='preparation failed')
        report.wall_s = time.monotonic() - t_start
        _write(report, out_dir)
        echo(markdown(report))
        return report
    s = settings

    # 2. every stage x precision: model only, then the full loop
    for name, src in stages.items():
        stage = prep['stages'].get(name, {})
        for precision in PRECISIONS:
            row: Dict[str, Any] = dict(
                stage=name, precision=precision, config=src, ratio=None)
            report.rows.append(row)
            tag = f'{name}_{precision.replace("+", "_")}'
            if stage.get('status') != 'ok':
                part = dict(
                    status='failed',
                    error=stage.get('error', 'no derived config'))
                row['model'], row['loop'] = part, part
                continue
            if precision != FP32 and s.device == 'cpu':
                part = dict(
                    status='skipped',
                    error='AMP needs a GPU (mmengine '
                    'AmpOptimWrapper); CPU dry run is fp32 only')
                row['model'], row['loop'] = part, dict(part)
                continue
            echo(f'[gpu_report] {name} {precision}: model only')
            row['model'] = _model(py, part_mod, stage['config'], s, precision,
                                  osp.join(logs, f'{tag}_model.log'),
                                  osp.join(results, f'{tag}_model.json'),
                                  budget, env, root)
            echo(f'[gpu_report] {name} {precision}: full loop')
            row['loop'] = _loop(py, stage['config'], s, precision,
                                osp.join(logs, f'{tag}_loop.log'),
                                osp.join(work_root, 'work_dirs', tag), budget,
                                env, root)
            m, lp = row['model'], row['loop']
            if m.get('status') == 'ok' and lp.get('status') == 'ok':
                row['ratio'] = lp['rate'] / m['rate']
            _write(report, out_dir)  # partial results survive a kill

    # 3. DDP
    report.ddp = _ddp(stages, prep, report, s, logs, work_root, budget, env,
                      root)
    for name, (ref32, ref16) in REFERENCE.items():
        if name in stages and s.device != 'cpu':
            report.notes.append(
                f'reference model-only rate for {name} (one H100, plain '
                f'PyTorch): {ref32} img/s fp32, {ref16} bf16+channels_last')
    report.wall_s = time.monotonic() - t_start
    _write(report, out_dir)
    echo(markdown(report))
    return report


def _skipped_budget() -> Dict[str, Any]:
    return dict(status='skipped', error='the report budget was spent')


def _model(py: str, part_mod: str, config: str, s: ReportSettings,
           precision: str, log: str, result: str, budget: _Budget,
           env: Dict[str, str], root: str) -> Dict[str, Any]:
    """The model-only part of one row."""
    limit = budget.limit(s.model_timeout)
    if limit is None:
        return _skipped_budget()
    if osp.exists(result):
        os.remove(result)
    cmd = [
        py, '-m', part_mod, 'model', config, '--device', s.device,
        '--precision', precision, '--warmup',
        str(s.model_warmup), '--iters',
        str(s.model_iters), '--result', result
    ]
    run = run_part(cmd, log, limit, env, root)
    res = _read_json(result) or {}
    if run.status != 'ok' or res.get('status') != 'ok':
        return dict(
            status=run.status if run.status != 'ok' else 'failed',
            error=res.get('error') or run.error,
            log=log,
            wall_s=run.wall_s)
    res.update(log=log, wall_s=run.wall_s)
    return res


def _train_cmd(py: str, config: str, work_dir: str,
               precision: str) -> List[str]:
    cmd = [py, 'tools/train.py', config, '--work-dir', work_dir]
    if precision != FP32:
        cmd += ['--amp', '--channels-last']
    return cmd


def _loop(py: str,
          config: str,
          s: ReportSettings,
          precision: str,
          log: str,
          work_dir: str,
          budget: _Budget,
          env: Dict[str, str],
          root: str,
          world_size: int = 1,
          cmd: Optional[List[str]] = None,
          timeout: Optional[float] = None) -> Dict[str, Any]:
    """The full-loop part of one row (or the DDP run, given ``cmd``)."""
    limit = budget.limit(timeout or s.loop_timeout)
    if limit is None:
        return _skipped_budget()
    if osp.isdir(work_dir):
        shutil.rmtree(work_dir)
    cmd = cmd or _train_cmd(py, config, work_dir, precision)
    run = run_part(cmd, log, limit, env, root)
    if run.status != 'ok':
        return dict(
            status=run.status, error=run.error, log=log, wall_s=run.wall_s)
    try:
        res = loop_rates(
            loop_scalars(work_dir), s.batch_size, s.loop_warmup,
            s.log_interval, world_size)
    except (ValueError, KeyError, OSError) as err:
        return dict(
            status='failed',
            error=f'reading the log: {err}',
            log=log,
            wall_s=run.wall_s)
    res.update(status='ok', log=log, wall_s=run.wall_s)
    if not res['loss_finite']:
        res['error'] = 'non-finite loss logged'
    return res


def _ddp(stages: Dict[str, str], prep: Dict[str, Any], report: Report,
         s: ReportSettings, logs: str, work_root: str, budget: _Budget,
         env: Dict[str, str], root: str) -> Dict[str, Any]:
    """The DDP run, or why it was skipped."""
    gpus = int(report.versions.get('gpu_count') or 0)
    name = s.ddp_stage
    if s.device == 'cpu' or gpus < s.ddp_gpus:
        return dict(
            status='skipped',
            error=f'{gpus} GPU(s) here; the NCCL DDP run needs '
            f'{s.ddp_gpus}')
    stage = prep['stages'].get(name, {})
    if stage.get('status') != 'ok':
        return dict(
            status='skipped', error=f'stage {name!r} has no derived config')
    precision = AMP_CL
    tag = f'ddp{s.ddp_gpus}_{name}'
    work_dir = osp.join(work_root, 'work_dirs', tag)
    ddp_env = dict(env, PORT=str(_free_port()), PYTHON=sys.executable)
    cmd = [
        'bash', 'tools/dist_train.sh', stage['config'],
        str(s.ddp_gpus), '--work-dir', work_dir, '--amp', '--channels-last'
    ]
    res = _loop(
        sys.executable,
        stage['config'],
        s,
        precision,
        osp.join(logs, f'{tag}.log'),
        work_dir,
        budget,
        ddp_env,
        root,
        world_size=s.ddp_gpus,
        cmd=cmd,
        timeout=s.ddp_timeout)
    res.update(stage=name, precision=precision, gpus=s.ddp_gpus)
    one = next((r for r in report.rows
                if r['stage'] == name and r['precision'] == precision), None)
    if res.get('status') == 'ok' and one and \
            (one.get('loop') or {}).get('status') == 'ok':
        res['scaling'] = res['rate'] / one['loop']['rate']
    return res
