"""Running a study's jobs, resumably: stage 1 once per pre-training config,
then every fine-tuning run (train + test on the test split) unless its
``summary.json`` exists; an interrupted run resumes from its last checkpoint.
A method with a ``first`` stage (BCP's labelled phase) trains it in the run's
folder first (``<run>/first``, resumed the same way, skipped once done) and
starts from its single best checkpoint.

Runs are ``tools/train.py`` / ``tools/test.py`` subprocesses started in the
repository checkout (``repo``), one log per run folder.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Tuple

from ideal_mm.engine.best_checkpoint import find_best_checkpoint
# the checkpoint mmengine's `last_checkpoint` file names, if it exists (one
# reader, the engine's, for the non-finite guard and the study's resume)
from ideal_mm.engine.nonfinite import last_checkpoint
from ideal_mm.errors import CheckpointError, ConfigError
from ideal_mm.model_config import encoder_path
from .study_curves import VAL_CURVE, save_val_curve
from .study_spec import Study, budget_name, flatten

__all__ = ['StudyRunner', 'default_repo', 'FIRST_DONE']

#: written in a first stage's folder when it finished: {"best": path}
FIRST_DONE = 'first_done.json'


def default_repo() -> str:
    """The checkout that holds ``tools/`` next to the ``ideal_mm`` package
    (``pip install -e .``)."""
    return osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _run(cmd: List[str], log: str, threads: int, repo: str) -> int:
    """Run ``cmd`` in ``repo`` with ``threads`` BLAS/OpenMP threads, appending
    its output to ``log``; the exit status."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        PYTHONUNBUFFERED='1')
    with open(log, 'a') as f:
        f.write(f'\n$ {" ".join(cmd)}\n')
        f.flush()
        return subprocess.call(
            cmd, stdout=f, stderr=subprocess.STDOUT, cwd=repo, env=env)


def _tail(path: str, n: int = 15) -> str:
    try:
        with open(path) as f:
            return ''.join(f.readlines()[-n:])
    except OSError:
        return ''


def config_encoder_path(path: str) -> str:
    """Dotted key of the encoder under ``model`` in the config at ``path``
    (``backbone`` or ``segmentor.backbone``, :mod:`ideal_mm.model_config`),
    for the ``--cfg-options`` that sets a run's pre-trained encoder."""
    from mmengine.config import Config
    return encoder_path(Config.fromfile(path).get('model'))


class StudyRunner:
    """Runs the study's pre-training and fine-tuning jobs, skipping done
    ones."""

    def __init__(self,
                 study: Study,
                 jobs: int,
                 dry_run: bool,
                 repo: Optional[str] = None,
                 threads: Optional[int] = None) -> None:
        self.study = study
        self.repo = repo or default_repo()
        self.jobs = max(1, int(jobs))
        # threads per run (stage 1 too): the CPUs split between the jobs
        # unless given
        self.threads = int(threads) if threads else max(
            1, (os.cpu_count() or 1) // self.jobs)
        self.dry_run = dry_run
        self.py = sys.executable
        self.failed: List[str] = []
        self.start = time.time()

    def _say(self, text: str) -> None:
        print(f'[{time.time() - self.start:7.0f}s] {text}', flush=True)

    def config(self, path: str) -> str:
        """The config a run starts: ``path`` itself, or with the spec's
        ``input_size = (h, w)`` a copy under ``DIR/configs/`` whose train,
        val and test pipelines output that size (every resizing transform,
        as :func:`ideal_mm.engine.benchmark.set_pipeline_crop` finds them:
        ``out_size`` arguments, ``Resize.scale``, ``RandomCrop``) and whose
        data preprocessor does not pad it back up; with ``model_width = c``
        the encoder's ``base_channels`` become ``c`` and every head follows
        (:func:`ideal_mm.engine.model_width.scale_model_width`); written
        once, atomically, and reused."""
        size = self.study.spec.get('input_size')
        width = self.study.spec.get('model_width')
        if size is None and width is None:
            return path
        out = osp.join(self.study.out, 'configs', osp.basename(path))
        if osp.isfile(out) or self.dry_run:
            return out
        from mmengine.config import Config

        from ideal_mm.atomic_files import atomic_write_text
        from ideal_mm.engine.benchmark import set_pipeline_crop
        from ideal_mm.engine.config_walk import dataloader_datasets
        from ideal_mm.engine.model_width import (fit_size_divisor,
                                                 scale_model_width)
        cfg = Config.fromfile(path)
        what = []
        if size is not None:
            hw = tuple(int(v) for v in size)
            found = False
            for key in ('train_dataloader', 'val_dataloader',
                        'test_dataloader'):
                for ds in dataloader_datasets(cfg.get(key)):
                    if ds.get('pipeline'):
                        set_pipeline_crop(ds['pipeline'], hw)
                        found = True
            if not found:
                raise ConfigError(f'{path}: input_size {hw} of the study '
                                  'spec found no pipeline to resize')
            if 'crop_size' in cfg:
                cfg.crop_size = hw
            fit_size_divisor(cfg.model, hw)
            what.append(f'input size {hw}')
        if width is not None:
            scale_model_width(cfg.model, int(width), f'{path}: model')
            what.append(f'model width {int(width)}')
        os.makedirs(osp.dirname(out), exist_ok=True)
        atomic_write_text(
            out, f'# {path} at {", ".join(what)} (study '
            f'{self.study.name})\n' + cfg.pretty_text)
        return out

    def pretrain(self, method: str) -> Optional[str]:
        """Run (or reuse) a method's pre-training stages in order (each
        from the previous one's output, :meth:`Study.pretrain_stages`);
        returns the last stage's output file (stage 1's encoder.pth)."""
        stages = self.study.pretrain_stages(method)
        prev = None
        for i, stage in enumerate(stages):
            wd = self.study.pretrain_stage_dir(method, i)
            out = osp.join(wd, stage['output'])
            if osp.isfile(out):
                prev = out
                continue
            self._say(f"pre-training {method} ({i + 1}/{len(stages)}): "
                      f"{stage['config']} -> {wd}")
            if self.dry_run:
                prev = out
                continue
            os.makedirs(wd, exist_ok=True)
            own = stage['cfg_options']
            opts = flatten(
                dict(
                    self.study.spec.get('pretrain_cfg_options', {}) if own is
                    None else own))
            if prev is not None:
                opts.append(f"{stage['init_key']}={prev}")
            cmd = [
                self.py, 'tools/train.py',
                self.config(stage['config']), '--work-dir', wd
            ]
            if last_checkpoint(wd):
                cmd.append('--resume')
            if opts:
                cmd += ['--cfg-options', *opts]
            rc = _run(cmd, osp.join(wd, 'study_train.log'),
                      self.threads * self.jobs, self.repo)
            if rc or not osp.isfile(out):
                self.failed.append(f'pretrain {method}')
                self._say(
                    f'FAILED pre-training {method} (exit {rc}); log tail:\n' +
                    _tail(osp.join(wd, 'study_train.log')))
                return None
            prev = out
        return prev

    def excluded_encoder(self, method: str,
                         encoder: Optional[str]) -> Optional[str]:
        """The method's stage-1 encoder without its ``pretrain_exclude``
        prefixes, exported once next to encoder.pth from the same
        checkpoint."""
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
        ckpt = last_checkpoint(wd)
        if not ckpt:
            self.failed.append(f'export {method}')
            self._say(f'FAILED exporting {method}: no checkpoint in {wd}')
            return None
        export_encoder(ckpt, out, exclude=exclude)
        self._say(f'{method}: {out} (stage 1 without {exclude})')
        return out

    def run_options(self,
                    method: str,
                    budget: Any,
                    seed: int,
                    extra: Optional[dict] = None) -> List[str]:
        """``--cfg-options`` of one run: the study's, ``extra`` (the
        method's or its first stage's), seed and label budget."""
        opts = dict(self.study.spec.get('cfg_options', {}))
        opts.update(extra or {})
        return flatten(opts) + [
            f'randomness.seed={seed}',
            f'train_dataloader.dataset.label_budget={budget}'
        ]

    def first_stage(self, method: str, budget: Any, seed: int,
                    tag: str) -> Optional[str]:
        """Train (or resume, or reuse) a run's first stage in
        ``<run>/first``; its best checkpoint, or None when it failed."""
        first = self.study.first(method)
        wd = self.study.first_dir(method, budget, seed)
        done = osp.join(wd, FIRST_DONE)
        if osp.isfile(done):
            with open(done) as f:
                best = json.load(f)['best']
            if osp.isfile(best):
                return best
        self._say(f'{tag}: first stage {first["config"]} -> {wd}')
        if self.dry_run:
            return osp.join(wd, 'best_*.pth')
        os.makedirs(wd, exist_ok=True)
        config = self.config(first['config'])
        cmd = [self.py, 'tools/train.py', config, '--work-dir', wd]
        if last_checkpoint(wd):
            cmd.append('--resume')
        log = osp.join(wd, 'study_train.log')
        args = self.run_options(method, budget, seed, first['cfg_options'])
        rc = _run(cmd + ['--cfg-options', *args], log, self.threads, self.repo)
        best, why = None, f'exit {rc}'
        if rc == 0:
            try:
                best = find_best_checkpoint(wd)
            except CheckpointError as err:
                why = str(err)
        if best is None:
            self.failed.append(f'{tag} (first stage)')
            self._say(f'{tag}: first stage FAILED ({why}); log tail:\n' +
                      _tail(log))
            return None
        from ideal_mm.atomic_files import atomic_write_json
        atomic_write_json(done, dict(best=best, config=first['config']))
        return best

    def finetune(self, method: str, budget: Any, seed: int,
                 encoder: Optional[str], index: int, total: int) -> None:
        """Train and test one run unless its summary.json exists."""
        m = self.study.methods[method]
        wd = self.study.run_dir(method, budget, seed)
        summary = osp.join(wd, 'summary.json')
        tag = f'[{index}/{total}] {method} {budget_name(budget)} seed {seed}'
        if osp.isfile(summary):
            if not self.dry_run and not osp.isfile(osp.join(wd, VAL_CURVE)):
                save_val_curve(wd)
            return
        self._say(f'{tag}: start')
        t0 = time.time()
        first = self.study.first(method)
        best = self.first_stage(method, budget, seed, tag) if first \
            else None
        if self.dry_run:
            return
        if m.get('pretrain') and encoder is None:
            self._say(f'{tag}: skipped, its pre-training failed')
            return
        if first and best is None:
            return  # first_stage said why
        os.makedirs(wd, exist_ok=True)
        args = self.run_options(method, budget, seed, m.get('cfg_options'))
        if best:
            args.append(f'{first["init_key"]}={best}')
        config = self.config(m['config'])
        if encoder:
            key = m.get('pretrain_key') or (
                f'model.{config_encoder_path(m["config"])}'
                '.init_cfg.checkpoint')
            args.append(f'{key}={encoder}')
        t0 = time.time()
        train = [self.py, 'tools/train.py', config, '--work-dir', wd]
        if last_checkpoint(wd):
            train.append('--resume')
        log = osp.join(wd, 'study.log')
        rc = _run(train + ['--cfg-options', *args], log, self.threads,
                  self.repo)
        ckpt = last_checkpoint(wd)
        if rc == 0 and ckpt:
            rc = _run([
                self.py, 'tools/test.py', config, ckpt, '--work-dir', wd,
                '--cfg-options', *args
            ], log, self.threads, self.repo)
        if rc or not osp.isfile(summary):
            self.failed.append(tag)
            self._say(f'{tag}: FAILED (exit {rc}); log tail:\n' + _tail(log))
            return
        with open(osp.join(wd, 'run_info.json'), 'w') as f:
            info = dict(
                method=method,
                label_budget=budget,
                seed=seed,
                wall_s=round(time.time() - t0))
            if best:  # wall_s includes a first stage trained just now
                info['first_stage'] = best
            json.dump(info, f)
        save_val_curve(wd)
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
