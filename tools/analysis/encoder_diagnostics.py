"""Per-level feature statistics of encoders on real slices: is a pre-trained
encoder a better starting point than random weights, and where is it not?

    python tools/analysis/encoder_diagnostics.py CONFIG [ENCODER ...]
        [--num-slices 32] [--seed 0] [--split test] [--cfg-options ...]

Prints, per encoder (random init first) and level, the effective rank
(``erank``), dead channels (``dead``) and high-frequency share (``hf``) of
the features; the definitions are in :mod:`ideal_mm.analysis.encoder_stats`.
"""
from __future__ import annotations

import argparse
import os.path as osp
from typing import Optional, Sequence

from ideal_mm.errors import ConfigError, run_cli


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Per-level feature statistics of encoders')
    parser.add_argument(
        'config',
        help='config with an encoder (model.backbone or '
        'model.segmentor.backbone) and data')
    parser.add_argument(
        'encoders',
        nargs='*',
        metavar='ENCODER',
        help='encoder.pth files or checkpoints to compare')
    parser.add_argument('--num-slices', type=int, default=32)
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the random-init row (default 0)')
    parser.add_argument(
        '--split', default='test', choices=['test', 'val', 'train'])
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Check the files, compute and print the table."""
    args = parse_args(argv)
    # torch and mmseg only after the arguments are read (--help is instant)
    import ideal_mm
    ideal_mm.register_all_modules()
    from mmengine.config import Config

    from ideal_mm.analysis.encoder_stats import diagnose, format_report
    if not osp.isfile(args.config):
        raise ConfigError(f'config {args.config} does not exist')
    if args.num_slices < 2:
        raise ConfigError(f'--num-slices must be >= 2, got {args.num_slices}')
    for path in args.encoders:
        if not osp.isfile(path):
            raise ConfigError(f'encoder file {path} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    results = diagnose(cfg, args.encoders, args.num_slices, args.seed,
                       args.split)
    print(format_report(results))
    return 0


if __name__ == '__main__':
    run_cli(main)
