"""Test a checkpoint per 3D volume (mmseg's command line).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
                         [--show-dir DIR] [--cfg-options k=v ...]

Writes ``per_case.csv`` and ``summary.json`` into the work dir and prints the
per-class table. The steps are
:func:`ideal_mm.engine.launch.prepare_test_config` and
:func:`ideal_mm.engine.launch.run`.
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import DictAction  # light: no torch

from ideal_mm.errors import run_cli


def parse_args() -> argparse.Namespace:
    """mmseg's tools/test.py arguments (the lines tools/train.py shares:
    config, --work-dir, --cfg-options, --launcher)."""
    parser = argparse.ArgumentParser(description='Test a segmentor per volume')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='where per_case.csv, summary.json and logs go')
    parser.add_argument(
        '--out', help='also save the predicted slices (mmseg format) here')
    parser.add_argument(
        '--show-dir', help='save painted prediction images under this dir')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> int:
    args = parse_args()
    # torch and mmseg only after the arguments are read (--help is instant)
    import ideal_mm
    ideal_mm.register_all_modules()
    from ideal_mm.engine.launch import prepare_test_config, run
    from ideal_mm.evaluation.report import format_table

    # Bad configs and checkpoints of another model fail before the Runner
    # creates the work dir.
    cfg = prepare_test_config(
        args.config,
        args.checkpoint,
        args.work_dir,
        args.cfg_options,
        launcher=args.launcher,
        out_dir=args.out,
        show_dir=args.show_dir)
    run(cfg, 'test')
    summary = osp.join(cfg.work_dir, 'summary.json')
    if osp.isfile(summary):
        with open(summary) as f:
            print(format_table(json.load(f)))
        print(f'per-case metrics: {osp.join(cfg.work_dir, "per_case.csv")}')
    return 0


if __name__ == '__main__':
    run_cli(main)
