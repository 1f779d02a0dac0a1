"""Results table (methods x label budgets) from the summary.json of test runs.

    python tools/analysis/summarize.py WORK_DIR [WORK_DIR ...] --out results.md
        [--metrics dice hd95 asd]

Each WORK_DIR is a run tested with ``tools/test.py CONFIG CKPT --work-dir
WORK_DIR``. The table has one row per method, one column per label budget and
cells ``Dice / HD95 / ASD``, the shape of the IDEAL paper's tables; a second
table gives the same per class. How a run's method and budget are found, and
the cell format, are in :mod:`ideal_mm.analysis.summaries`.
"""
from __future__ import annotations

import argparse
from typing import Optional, Sequence

from ideal_mm.analysis.summaries import METRIC_TITLES, summarize_work_dirs
from ideal_mm.atomic_files import atomic_write_text
from ideal_mm.errors import run_cli


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Markdown results table from tested work dirs')
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    parser.add_argument('--out', help='Markdown file to write (also printed)')
    parser.add_argument(
        '--metrics',
        nargs='+',
        default=['dice', 'hd95', 'asd'],
        choices=sorted(METRIC_TITLES),
        help='metrics per cell (default: dice hd95 asd)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Print the tables (and write them to --out)."""
    args = parse_args(argv)
    text = summarize_work_dirs(args.work_dirs, args.metrics)
    print(text, end='')
    if args.out:
        atomic_write_text(args.out, text)
        print(f'saved {args.out}')
    return 0


if __name__ == '__main__':
    run_cli(main)
