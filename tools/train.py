"""Train a model from an ideal_mm / mmseg config (mmseg's command line).

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp]
                          [--cfg-options k=v ...] [--launcher pytorch]

The steps are :func:`ideal_mm.engine.launch.prepare_train_config` and
:func:`ideal_mm.engine.launch.run`.
"""
import argparse
import os

from mmengine.config import DictAction  # light: no torch

from ideal_mm.errors import run_cli


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='resume from the latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bf16 automatic mixed precision (AmpOptimWrapper)')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='channels_last memory format for the model and its inputs')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=1000')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
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
    from ideal_mm.engine.launch import prepare_train_config, run

    # Everything a config can get wrong fails here, before the Runner
    # creates the work dir.
    cfg = prepare_train_config(
        args.config,
        args.work_dir,
        args.cfg_options,
        launcher=args.launcher,
        resume=args.resume,
        amp=args.amp,
        channels_last=args.channels_last)
    run(cfg, 'train')
    return 0


if __name__ == '__main__':
    run_cli(main)
