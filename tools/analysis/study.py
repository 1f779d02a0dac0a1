"""Run a multi-seed method comparison and write its table (resumable).

    python tools/analysis/study.py STUDY.py [--out DIR] [--jobs N]
        [--threads T]
        [--methods NAME ...] [--seeds S ...] [--budgets B ...] [--report-only]
        [--dry-run]

STUDY.py is an mmengine config (see configs/studies/) with:

* ``methods``: ``{name: dict(config=..., pretrain=None | config,
  budgets=None | [...], cfg_options={...})}``; ``pretrain`` names a stage-1
  config, run once per study (seed 0, no labels) and loaded through
  ``model.segmentor.backbone.init_cfg.checkpoint`` (``model.backbone`` for
  a plain segmentor); ``pretrain_exclude=[prefix, ...]``
  loads that stage 1 without the encoder keys starting with those prefixes
  (an ``encoder_excl-<prefixes>.pth`` exported from the same stage-1
  checkpoint; ``[]`` exports the whole encoder, ``encoder_excl-none.pth``,
  whatever the config's own export leaves out), so transferring the whole
  encoder and leaving a stage out can be compared on one pre-training run;
  ``first=dict(config=..., cfg_options={...}, init_key=...)`` is a first
  stage trained for every budget and seed in ``<run>/first`` (BCP's
  labelled phase; the study's ``cfg_options``, then its own, seed and
  budget as the run's), resumed when interrupted, skipped once
  ``first_done.json`` exists; the run starts from its single ``best_*.pth``
  through ``init_key`` (default ``model.segmentor.init_cfg.checkpoint``);
  ``pretrain`` may also be a list of stages, each a config or
  ``dict(config=..., output='encoder.pth', init_key=..., cfg_options=...)``,
  run in order (``DIR/pretrain/<a>+<b>``), each from the previous stage's
  output at ``init_key`` (default ``model.backbone.init_cfg.checkpoint``),
  with its own ``cfg_options`` instead of ``pretrain_cfg_options`` when
  given; ``pretrain_key`` says where the run takes the last output (e.g.
  ``model.init_cfg.checkpoint`` for Chaitanya et al.'s encoder + decoder
  file);
* ``budgets``: label budgets (int = patients, float = fraction, None = all);
* ``seeds``: fine-tuning seeds (``randomness.seed``);
* ``cfg_options``: overrides for every run (data root, split, schedule),
  nested dicts or dotted keys, as ``--cfg-options`` takes them;
* ``pretrain_cfg_options``: overrides for the pre-training runs;
* ``compare``: ``[(A, B), ...]`` method pairs for paired differences;
* optional ``input_size = (h, w)``: every run's train / val / test
  pipelines resized to it (configs written to ``DIR/configs/``);
  ``model_width = c``: the encoder's ``base_channels`` set to ``c``, every
  head's channels following;
* optional ``gap_at_iters = [t, ...]``: the gap share also on the
  validation curves at those iterations;
* optional ``gap = (low, high)``: the share of the low -> high test-Dice gap
  each method closes; ``curves_reference``: the method drawn as a level in
  the learning curves (e.g. supervised with all labels);
* optional ``data``: ``dict(root=..., generate=dict(...))`` makes phantom
  data with :func:`ideal_mm.datasets.phantom.make_phantom_acdc` when the root
  does not exist yet.

Every run lives in ``DIR/runs/<method>/<budget>/seed<S>`` and is tested on
the test split with its final checkpoint (no selection on validation data).
A run whose ``summary.json`` exists is skipped, an interrupted one resumes
from its last checkpoint, so the same command continues a half-finished
study. ``DIR/study.md`` and ``DIR/study.csv`` hold mean +- std over seeds per
method and budget, the validation learning curves (``DIR/curves.png``:
per method the mean validation-split mDice over seeds, the seed range
shaded; each finished run's curve is kept in its ``val_curve.json``) and,
for each pair in ``compare``, the paired per-volume
Dice difference with a two-level (seeds x volumes) bootstrap 95 % CI
(:func:`ideal_mm.evaluation.stats.paired_bootstrap`). The spec, the runner
and the report are :mod:`ideal_mm.analysis` (``study_spec``,
``study_runner``, ``study_report``).
"""
from __future__ import annotations

import argparse
import os.path as osp

from ideal_mm.errors import ConfigError, run_cli

#: the checkout whose tools/train.py and tools/test.py the runs start
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args() -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('spec', help='study spec (configs/studies/*.py)')
    parser.add_argument(
        '--out',
        help='study folder (default '
        'work_dirs/studies/<spec name>)')
    parser.add_argument(
        '--jobs',
        type=int,
        default=1,
        help='runs at a time (threads split between them)')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch threads per run (default: CPUs / jobs)')
    parser.add_argument('--methods', nargs='+', help='only these methods')
    parser.add_argument(
        '--seeds', type=int, nargs='+', help='only these seeds')
    parser.add_argument(
        '--budgets',
        nargs='+',
        help="only these budgets, by name (e.g. 1pat 10pct)")
    parser.add_argument(
        '--report-only',
        action='store_true',
        help='write the tables from finished runs only')
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='list the runs that would start')
    return parser.parse_args()


def main() -> int:
    """Run what is missing, then write the report; exit 1 if a run failed."""
    args = parse_args()
    # after the arguments: the runner imports ideal_mm.engine (torch, mmseg)
    from ideal_mm.analysis.study_report import report
    from ideal_mm.analysis.study_runner import StudyRunner
    from ideal_mm.analysis.study_spec import Study, ensure_data
    study = Study(args.spec, args.out)
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f'--threads {args.threads}: must be >= 1')
    runner = StudyRunner(
        study, args.jobs, args.dry_run, repo=REPO, threads=args.threads)
    if not args.report_only:
        if not args.dry_run:
            ensure_data(study)
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
