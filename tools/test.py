"""Test a checkpoint per 3D volume (mmseg's command line).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
                         [--show-dir DIR] [--cfg-options k=v ...]

Writes ``per_case.csv`` and ``summary.json`` into the work dir and prints the
per-class table.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import ideal_mm  # noqa: E402,F401
from ideal_mm.engine.runner_config import (  # noqa: E402
    check_checkpoint_fits, config_errors, load_config, resolve_work_dir,
    set_metric_out_dirs, setup_cpu_distributed, validate_config)
from ideal_mm.datasets.config_checks import check_dataset_config  # noqa: E402
from ideal_mm.errors import CheckpointError, run_cli  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


def parse_args() -> argparse.Namespace:
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
        '--cfg-options', nargs='+', action=DictAction,
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
    if not osp.isfile(args.checkpoint):
        raise CheckpointError(
            f'checkpoint {args.checkpoint!r} does not exist; pass a .pth from '
            f'a work dir (e.g. work_dirs/<config>/best_mDice_iter_*.pth)')
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    work_dir = resolve_work_dir(cfg, args.config, args.work_dir)
    # The checkpoint holds the whole model: stage-1 weights are not needed.
    _drop_pretrained(cfg.get('model'))
    # Bad configs and checkpoints of another model fail before the Runner
    # creates the work dir.
    validate_config(cfg)
    check_dataset_config(cfg)
    check_checkpoint_fits(cfg, args.checkpoint, 'CHECKPOINT')
    set_metric_out_dirs(cfg, work_dir)
    cfg.load_from = args.checkpoint
    if args.show_dir:
        hook = cfg.default_hooks.get('visualization')
        if hook is not None:
            hook['draw'] = True
            hook['interval'] = 1
            cfg.visualizer['save_dir'] = args.show_dir
    if args.out:
        _set_prediction_dir(cfg, args.out)
    setup_cpu_distributed(cfg)
    with config_errors():
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else \
            RUNNERS.build(cfg)
        runner.test()
    summary = osp.join(work_dir, 'summary.json')
    if osp.isfile(summary):
        from ideal_mm.evaluation.report import format_table
        with open(summary) as f:
            print(format_table(json.load(f)))
        print(f'per-case metrics: {osp.join(work_dir, "per_case.csv")}')
    return 0


def _set_prediction_dir(cfg, out_dir: str) -> None:
    """Ask the volume metric to also write each predicted volume as NIfTI."""
    evaluator = cfg.test_evaluator
    items = evaluator if isinstance(evaluator, list) else [evaluator]
    for item in items:
        if item.get('type') == 'ACDCVolumeMetric':
            item['pred_dir'] = out_dir


def _drop_pretrained(obj) -> None:
    """Remove Pretrained init_cfgs: test weights come from the checkpoint."""
    if isinstance(obj, dict):
        init_cfg = obj.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            obj['init_cfg'] = None
        for v in obj.values():
            _drop_pretrained(v)
    elif isinstance(obj, list):
        for v in obj:
            _drop_pretrained(v)


if __name__ == '__main__':
    run_cli(main)
