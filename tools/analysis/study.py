"""Run a multi-seed method comparison and write its table (resumable).

    python tools/analysis/study.py STUDY.py [--out DIR] [--jobs N]
        [--methods NAME ...] [--seeds S ...] [--budgets B ...] [--report-only]
        [--dry-run]

STUDY.py is an mmengine config (see configs/studies/) with:

* ``methods``: ``{name: dict(config=..., pretrain=None | config,
  budgets=None | [...], cfg_options={...})}``; ``pretrain`` names a stage-1
  config, run once per study (seed 0, no labels) and loaded through
  ``model.backbone.init_cfg.checkpoint``; ``pretrain_exclude=[prefix, ...]``
  loads that stage 1 without the encoder keys starting with those prefixes
  (an ``encoder_excl-<prefixes>.pth`` exported from the same stage-1
  checkpoint; ``[]`` exports the whole encoder, ``encoder_excl-none.pth``,
  whatever the config's own export leaves out), so transferring the whole
  encoder and leaving a stage out can be compared on one pre-training run;
* ``budgets``: label budgets (int = patients, float = fraction, None = all);
* ``seeds``: fine-tuning seeds (``randomness.seed``);
* ``cfg_options``: overrides for every run (data root, split, schedule),
  nested dicts or dotted keys, as ``--cfg-options`` takes them;
* ``pretrain_cfg_options``: overrides for the pre-training runs;
* ``compare``: ``[(A, B), ...]`` method pairs for paired differences;
* optional ``data``: ``dict(root=..., generate=dict(...))`` makes phantom
  data with :func:`ideal_mm.datasets.phantom.make_phantom_acdc` when the root
  does not exist yet.

Every run lives in ``DIR/runs/<method>/<budget>/seed<S>`` and is tested on
the test split with its final checkpoint (no selection on validation data).
A run whose ``summary.json`` exists is skipped, an interrupted one resumes
from its last checkpoint, so the same command continues a half-finished
study. ``DIR/study.md`` and ``DIR/study.csv`` hold mean +- std over seeds per
method and budget and, for each pair in ``compare``, the paired per-volume
Dice difference with a two-level (seeds x volumes) bootstrap 95 % CI
(:func:`ideal_mm.evaluation.stats.paired_bootstrap`).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from ideal_mm.errors import ConfigError, DataError, run_cli  # noqa: E402


def budget_name(budget: Any) -> str:
    """Folder / table name of a label budget: 2 -> '2pat', 0.1 -> '10pct'."""
    if budget is None:
        return 'all'
    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        raise ConfigError(f'budget {budget!r} must be an int (patients), a '
                          'float in (0, 1] (fraction) or None (all)')
    if isinstance(budget, int):
        return f'{budget}pat'
    return f'{budget * 100:g}pct'


def flatten(options: Dict[str, Any], prefix: str = '') -> List[str]:
    """``{'a': {'b': 1}}`` -> ``['a.b=1']`` in ``--cfg-options`` syntax."""
    out = []
    for key, value in options.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict) and not value.get('type'):
            out += flatten(value, name + '.')
        elif isinstance(value, (list, tuple)):
            inner = ','.join(str(v) for v in value)
            out.append(f'{name}=[{inner}]' if isinstance(value, list) else
                       f'{name}=({inner})')
        else:
            out.append(f'{name}={value}')
    return out


class Study:
    """The runs of a study spec and where their results are."""

    def __init__(self, spec_path: str, out: Optional[str]) -> None:
        from mmengine.config import Config
        if not osp.isfile(spec_path):
            raise ConfigError(f'{spec_path}: study spec not found')
        self.spec = Config.fromfile(spec_path)
        for key in ('methods', 'budgets', 'seeds'):
            if key not in self.spec:
                raise ConfigError(f'{spec_path}: needs `{key}`')
        self.name = osp.splitext(osp.basename(spec_path))[0]
        self.out = out or osp.join('work_dirs', 'studies', self.name)
        self.methods: Dict[str, dict] = {}
        for name, m in self.spec.methods.items():
            if 'config' not in m:
                raise ConfigError(f'{spec_path}: methods.{name} needs `config`')
            if m.get('pretrain_exclude') is not None and \
                    not m.get('pretrain'):
                raise ConfigError(f'{spec_path}: methods.{name}.'
                                  'pretrain_exclude needs `pretrain`')
            for key in ('config', 'pretrain'):
                if m.get(key) and not osp.isfile(m[key]):
                    raise ConfigError(f'{spec_path}: methods.{name}.{key} = '
                                      f'{m[key]!r} does not exist')
            self.methods[name] = dict(m)
        for pair in self.spec.get('compare', []):
            for name in pair:
                if name not in self.methods:
                    raise ConfigError(f'{spec_path}: compare names {name!r}, '
                                      f'not one of {sorted(self.methods)}')

    def budgets(self, method: str) -> List[Any]:
        """The budgets a method runs at (its own list, else the study's)."""
        own = self.methods[method].get('budgets')
        return list(self.spec.budgets if own is None else own)

    def run_dir(self, method: str, budget: Any, seed: int) -> str:
        """``DIR/runs/<method>/<budget>/seed<S>``."""
        return osp.join(self.out, 'runs', method, budget_name(budget),
                        f'seed{seed}')

    def pretrain_dir(self, method: str) -> str:
        """Where a method's stage-1 run goes: one per pre-training config, so
        methods that name the same config share it."""
        cfg = self.methods[method]['pretrain']
        return osp.join(self.out, 'pretrain',
                        osp.splitext(osp.basename(cfg))[0])

    def runs(self, methods: Optional[Sequence[str]] = None,
             seeds: Optional[Sequence[int]] = None,
             budgets: Optional[Sequence[str]] = None
             ) -> List[Tuple[str, Any, int]]:
        """(method, budget, seed), seeds outermost so a partial study stays
        balanced across methods."""
        out = []
        for seed in (seeds if seeds is not None else self.spec.seeds):
            for method in self.methods:
                if methods and method not in methods:
                    continue
                for budget in self.budgets(method):
                    if budgets and budget_name(budget) not in budgets:
                        continue
                    out.append((method, budget, int(seed)))
        return out


def _run(cmd: List[str], log: str, threads: int) -> int:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), PYTHONUNBUFFERED='1')
    with open(log, 'a') as f:
        f.write(f'\n$ {" ".join(cmd)}\n')
        f.flush()
        return subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT,
                               cwd=REPO, env=env)


def _last_checkpoint(work_dir: str) -> Optional[str]:
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        ckpt = f.read().strip()
    return ckpt if osp.isfile(ckpt) else None


def _tail(path: str, n: int = 15) -> str:
    try:
        with open(path) as f:
            return ''.join(f.readlines()[-n:])
    except OSError:
        return ''


class Runner:
    """Runs the study's pre-training and fine-tuning jobs, skipping done ones."""

    def __init__(self, study: Study, jobs: int, dry_run: bool) -> None:
        self.study = study
        self.jobs = max(1, int(jobs))
        self.threads = max(1, (os.cpu_count() or 1) // self.jobs)
        self.dry_run = dry_run
        self.py = sys.executable
        self.failed: List[str] = []
        self.start = time.time()

    def _say(self, text: str) -> None:
        print(f'[{time.time() - self.start:7.0f}s] {text}', flush=True)

    def pretrain(self, method: str) -> Optional[str]:
        """Run (or reuse) a method's stage 1; returns its encoder.pth."""
        cfg = self.study.methods[method].get('pretrain')
        if not cfg:
            return None
        wd = self.study.pretrain_dir(method)
        enc = osp.join(wd, 'encoder.pth')
        if osp.isfile(enc):
            return enc
        self._say(f'pre-training {method}: {cfg} -> {wd}')
        if self.dry_run:
            return enc
        os.makedirs(wd, exist_ok=True)
        opts = flatten(dict(self.study.spec.get('pretrain_cfg_options', {})))
        cmd = [self.py, 'tools/train.py', cfg, '--work-dir', wd]
        if _last_checkpoint(wd):
            cmd.append('--resume')
        if opts:
            cmd += ['--cfg-options', *opts]
        rc = _run(cmd, osp.join(wd, 'study_train.log'),
                  max(1, os.cpu_count() or 1))
        if rc or not osp.isfile(enc):
            self.failed.append(f'pretrain {method}')
            self._say(f'FAILED pre-training {method} (exit {rc}); log tail:\n'
                      + _tail(osp.join(wd, 'study_train.log')))
            return None
        return enc

    def excluded_encoder(self, method: str, encoder: Optional[str]
                         ) -> Optional[str]:
        """The method's stage-1 encoder without its ``pretrain_exclude``
        prefixes, exported once next to encoder.pth from the same checkpoint."""
        exclude = self.study.methods[method].get('pretrain_exclude')
        if exclude is None or encoder is None:
            return encoder
        exclude = list(exclude)
        wd = osp.dirname(encoder)
        tag = '+'.join(p.rstrip('.') for p in exclude) or 'none'
        out = osp.join(wd, f'encoder_excl-{tag}.pth')
        if osp.isfile(out) or self.dry_run:
            return out
        from ideal_mm.engine.export_encoder import export_encoder
        ckpt = _last_checkpoint(wd)
        if not ckpt:
            self.failed.append(f'export {method}')
            self._say(f'FAILED exporting {method}: no checkpoint in {wd}')
            return None
        export_encoder(ckpt, out, exclude=exclude)
        self._say(f'{method}: {out} (stage 1 without {exclude})')
        return out

    def finetune(self, method: str, budget: Any, seed: int,
                 encoder: Optional[str], index: int, total: int) -> None:
        """Train and test one run unless its summary.json exists."""
        m = self.study.methods[method]
        wd = self.study.run_dir(method, budget, seed)
        summary = osp.join(wd, 'summary.json')
        tag = f'[{index}/{total}] {method} {budget_name(budget)} seed {seed}'
        if osp.isfile(summary):
            return
        self._say(f'{tag}: start')
        if self.dry_run:
            return
        if m.get('pretrain') and encoder is None:
            self._say(f'{tag}: skipped, its pre-training failed')
            return
        os.makedirs(wd, exist_ok=True)
        opts = dict(self.study.spec.get('cfg_options', {}))
        opts.update(m.get('cfg_options', {}))
        args = flatten(opts) + [
            f'randomness.seed={seed}',
            f'train_dataloader.dataset.label_budget={budget}'
        ]
        if encoder:
            args.append(f'model.backbone.init_cfg.checkpoint={encoder}')
        t0 = time.time()
        train = [self.py, 'tools/train.py', m['config'], '--work-dir', wd]
        if _last_checkpoint(wd):
            train.append('--resume')
        log = osp.join(wd, 'study.log')
        rc = _run(train + ['--cfg-options', *args], log, self.threads)
        ckpt = _last_checkpoint(wd)
        if rc == 0 and ckpt:
            rc = _run([self.py, 'tools/test.py', m['config'], ckpt,
                       '--work-dir', wd, '--cfg-options', *args], log,
                      self.threads)
        if rc or not osp.isfile(summary):
            self.failed.append(tag)
            self._say(f'{tag}: FAILED (exit {rc}); log tail:\n' + _tail(log))
            return
        with open(osp.join(wd, 'run_info.json'), 'w') as f:
            json.dump(dict(method=method, label_budget=budget, seed=seed), f)
        with open(summary) as f:
            dice = json.load(f)['mean'].get('dice')
        self._say(f'{tag}: done in {time.time() - t0:.0f} s, test Dice '
                  f'{dice:.3f}')

    def run_all(self, runs: List[Tuple[str, Any, int]]) -> None:
        """Stage 1 of every method that needs it, then the fine-tuning runs."""
        encoders: Dict[str, Optional[str]] = {}
        done: Dict[str, Optional[str]] = {}
        for m in dict.fromkeys(r[0] for r in runs):
            if not self.study.methods[m].get('pretrain'):
                continue
            key = self.study.pretrain_dir(m)
            if key not in done:
                done[key] = self.pretrain(m)
            encoders[m] = self.excluded_encoder(m, done[key])
        total = len(runs)
        with ThreadPoolExecutor(self.jobs) as pool:
            futures = [
                pool.submit(self.finetune, m, b, s, encoders.get(m), i + 1,
                            total) for i, (m, b, s) in enumerate(runs)
            ]
            for fut in futures:
                fut.result()


def _mean_std(values: Sequence[float]) -> str:
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if not len(v):
        return '-'
    std = v.std(ddof=1) if len(v) > 1 else float('nan')
    return f'{v.mean():.3f} ± {std:.3f}' if len(v) > 1 else f'{v.mean():.3f}'


def collect(study: Study) -> Dict[Tuple[str, str], Dict[int, dict]]:
    """{(method, budget name): {seed: summary}} of every finished run."""
    from ideal_mm.evaluation.stats import case_scores
    out: Dict[Tuple[str, str], Dict[int, dict]] = {}
    for method in study.methods:
        for budget in study.budgets(method):
            for seed in study.spec.seeds:
                path = osp.join(study.run_dir(method, budget, seed),
                                'summary.json')
                if not osp.isfile(path):
                    continue
                with open(path) as f:
                    summary = json.load(f)
                out.setdefault((method, budget_name(budget)), {})[int(seed)] \
                    = dict(dice=case_scores(summary, 'dice'),
                           hd95=case_scores(summary, 'hd95'),
                           mean=summary['mean'])
    return out


def report(study: Study) -> str:
    """Write study.md / study.csv; return the Markdown."""
    from ideal_mm.evaluation.stats import paired_bootstrap
    results = collect(study)
    budgets = []
    for method in study.methods:
        for b in study.budgets(method):
            if budget_name(b) not in budgets:
                budgets.append(budget_name(b))
    lines = [f'# Study `{study.name}`', '',
             'Test-split mean over volumes of the per-volume mean over '
             'foreground classes; mean ± sample std over seeds (n = runs).',
             '', '| method | ' + ' | '.join(
                 f'{b} Dice | {b} HD95 (mm)' for b in budgets) + ' |',
             '|---|' + '---|---|' * len(budgets)]
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator='\n')
    writer.writerow(['method', 'budget', 'seed', 'dice', 'hd95', 'volumes'])
    for method in study.methods:
        cells = []
        for b in budgets:
            runs = results.get((method, b), {})
            dice = [np.nanmean(list(r['dice'].values()))
                    for r in runs.values()]
            hd = [np.nanmean(list(r['hd95'].values())) for r in runs.values()]
            for seed, r in sorted(runs.items()):
                writer.writerow([
                    method, b, seed,
                    f"{np.nanmean(list(r['dice'].values())):.4f}",
                    f"{np.nanmean(list(r['hd95'].values())):.3f}",
                    len(r['dice'])])
            cells.append(f'{_mean_std(dice)} (n={len(dice)})' if dice else '-')
            cells.append(_mean_std(hd) if hd else '-')
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    pairs = study.spec.get('compare', [])
    if pairs:
        lines += ['', 'Paired per-volume Dice difference A - B (same seeds, '
                  'same test volumes), two-level bootstrap over seeds and '
                  'volumes (10,000 replicates): mean [95 % CI]; P(<=0) is '
                  'the share of replicates at or below zero. A row with '
                  'fewer than 5 seeds is preliminary; with one seed its '
                  'interval covers the test volumes only, not training '
                  'noise.', '',
                  '| A - B | budget | seeds | volumes | mean | 95 % CI | '
                  'P(<=0) |', '|---|---|---|---|---|---|---|']
        for a, b in pairs:
            for bud in budgets:
                ra, rb = results.get((a, bud), {}), results.get((b, bud), {})
                seeds = sorted(set(ra) & set(rb))
                if not seeds:
                    continue
                vols = sorted(set.intersection(*(
                    set(ra[s]['dice']) & set(rb[s]['dice']) for s in seeds)))
                A = np.array([[ra[s]['dice'][v] for v in vols] for s in seeds])
                B = np.array([[rb[s]['dice'][v] for v in vols] for s in seeds])
                ok = ~np.isnan(A).any(0) & ~np.isnan(B).any(0)
                st = paired_bootstrap(A[:, ok], B[:, ok])
                lines.append(
                    f'| {a} - {b} | {bud} | {st["seeds"]} | {st["volumes"]} '
                    f'| {st["mean"]:+.3f} | [{st["low"]:+.3f}, '
                    f'{st["high"]:+.3f}] | {st["p_below_zero"]:.3f} |')
    text = '\n'.join(lines) + '\n'
    os.makedirs(study.out, exist_ok=True)
    for name, content in (('study.md', text), ('study.csv', rows.getvalue())):
        tmp = osp.join(study.out, f'.{name}.tmp')
        with open(tmp, 'w') as f:
            f.write(content)
        os.replace(tmp, osp.join(study.out, name))
    return text


def _ensure_data(study: Study) -> None:
    data = study.spec.get('data')
    if not data or osp.isdir(data['root']):
        return
    gen = data.get('generate')
    if not gen:
        raise DataError(f"data root {data['root']} does not exist; create it "
                        'or add data.generate to the study spec')
    from ideal_mm.datasets.phantom import make_phantom_acdc
    print(f"generating phantom data in {data['root']}: {dict(gen)}")
    make_phantom_acdc(data['root'], progress=True, **dict(gen))


def parse_args() -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('spec', help='study spec (configs/studies/*.py)')
    parser.add_argument('--out', help='study folder (default '
                        'work_dirs/studies/<spec name>)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time (threads split between them)')
    parser.add_argument('--methods', nargs='+', help='only these methods')
    parser.add_argument('--seeds', type=int, nargs='+', help='only these seeds')
    parser.add_argument('--budgets', nargs='+',
                        help="only these budgets, by name (e.g. 1pat 10pct)")
    parser.add_argument('--report-only', action='store_true',
                        help='write the tables from finished runs only')
    parser.add_argument('--dry-run', action='store_true',
                        help='list the runs that would start')
    return parser.parse_args()


def main() -> int:
    """Run what is missing, then write the report; exit 1 if a run failed."""
    args = parse_args()
    study = Study(args.spec, args.out)
    runner = Runner(study, args.jobs, args.dry_run)
    if not args.report_only:
        if not args.dry_run:
            _ensure_data(study)
        runs = study.runs(args.methods, args.seeds, args.budgets)
        runner.run_all(runs)
    if args.dry_run:
        return 0
    print(report(study))
    print(f'tables: {osp.join(study.out, "study.md")}, '
          f'{osp.join(study.out, "study.csv")}')
    if runner.failed:
        print('failed runs: ' + '; '.join(runner.failed))
        return 1
    return 0


if __name__ == '__main__':
    run_cli(main)
