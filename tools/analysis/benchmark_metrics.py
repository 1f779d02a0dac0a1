"""Benchmark :func:`ideal_mm.evaluation.functional.volume_metrics` against
medpy.

Builds cardiac-like label volumes (D x H x W = 10 x 216 x 256 by default, ACDC
spacing) with realistic segmentation errors
(:mod:`ideal_mm.analysis.metric_benchmark`). For every case it times our single
call against medpy's ``dc + jc + hd95 + asd`` per class (median over repeats),
checks that the values agree to 1e-6 relative, and prints both timings, the
speed ratio and the machine.

    python tools/analysis/benchmark_metrics.py [--cases 8] [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys

from ideal_mm.errors import run_cli


def main() -> int:
    """Run the benchmark and print the timings; exit 1 if values disagree."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--cases', type=int, default=8, help='number of volumes')
    parser.add_argument(
        '--repeats', type=int, default=5, help='timed calls per volume')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=3,
        default=(10, 216, 256),
        metavar=('D', 'H', 'W'))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    # numpy and scipy only after the arguments (--help is instant)
    import numpy as np

    from ideal_mm.analysis.metric_benchmark import SPACING, compare_with_medpy
    res = compare_with_medpy(args.cases, args.repeats, tuple(args.shape),
                             args.seed)
    t_ours, t_medpy, worst = res['ours_s'], res['medpy_s'], res['worst']
    print(f'machine: {platform.platform()}, '
          f'{platform.processor() or platform.machine()}, {os.cpu_count()} '
          f'CPUs, Python {platform.python_version()}, numpy {np.__version__}')
    print(f'volumes: {args.cases} x {tuple(args.shape)} (D, H, W), spacing '
          f'{SPACING} mm, median of {args.repeats} repeats per volume')
    print(
        f'ideal_mm volume_metrics (5 metrics per class): {t_ours * 1e3:8.2f} '
        'ms/volume')
    print(
        f'medpy dc + jc + hd95 + asd per class:          {t_medpy * 1e3:8.2f} '
        'ms/volume')
    print(f'speed-up: {t_medpy / t_ours:.1f}x')
    print(f'largest relative difference to medpy: {worst:.2e}')
    if worst > 1e-6:
        print(
            'error: values differ from medpy by more than 1e-6 relative',
            file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    run_cli(main)
