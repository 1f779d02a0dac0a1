"""Plot training / validation curves of one or more runs from mmengine's logs.

    python tools/analysis/plot_curves.py WORK_DIR [WORK_DIR ...] \
        --keys loss mDice --out curves.png [--latest-only] [--title TEXT]

One panel per key (value vs. iteration), one line per run, from each run's
``<timestamp>/vis_data/scalars.json``; resumed runs are merged, ``mDice``
matches ``val/mDice``. The reading and drawing are
:mod:`ideal_mm.analysis.curves`.
"""
from __future__ import annotations

import argparse
from typing import Optional, Sequence

from ideal_mm.analysis.curves import plot_curves, read_runs
from ideal_mm.errors import run_cli


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Plot scalars of mmengine work dirs (several runs)')
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    parser.add_argument(
        '--keys',
        nargs='+',
        default=['loss', 'mDice'],
        help='scalars to plot (default: loss mDice)')
    parser.add_argument(
        '--out', default='curves.png', help='image file (.png, .pdf, .svg)')
    parser.add_argument(
        '--latest-only',
        action='store_true',
        help='read only the latest timestamp of each run')
    parser.add_argument('--title', help='figure title')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Plot, print one line per curve and the file written."""
    args = parse_args(argv)
    runs = read_runs(args.work_dirs, args.latest_only)
    plotted = plot_curves(runs, args.keys, args.out, args.title)
    for key, by_run in plotted.items():
        for run, (xs, ys) in by_run.items():
            print(f'{key} [{run}]: {len(xs)} points, last {ys[-1]:.4g} at '
                  f'iteration {xs[-1]:g}')
    print(f'saved {args.out}')
    return 0


if __name__ == '__main__':
    run_cli(main)
