"""Generate a whole-heart phantom (7 structures, CT- or MR-like) as a data set.

Example::

    python tools/data/make_phantom_whs.py --out data/phantom_whs \
        --cases 16 --test 4
    python tools/data/make_phantom_whs.py --out data/phantom_mmwhs \
        --layout mmwhs

Layouts: ``nnunet`` (default; 8 classes in dataset.json), ``msd`` (Decathlon,
4D images with ``--channels 2``) and ``mmwhs`` (the challenge download with raw
label values 205..850, input of tools/data/convert_mmwhs.py). See
:func:`ideal_mm.datasets.phantom.make_phantom_whs`.
"""
from __future__ import annotations

import argparse
from typing import List, Optional

from ideal_mm.errors import run_cli


def main(argv: Optional[List[str]] = None) -> int:
    """Generate; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='folder to create')
    parser.add_argument(
        '--cases', type=int, default=16, help='labelled cases (default 16)')
    parser.add_argument(
        '--test',
        type=int,
        default=4,
        help='unlabelled test cases (default 4)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--size', type=int, nargs=2, default=(96, 96), metavar=('H', 'W'))
    parser.add_argument(
        '--slices',
        type=int,
        nargs=2,
        default=(16, 20),
        metavar=('MIN', 'MAX'))
    parser.add_argument(
        '--layout', choices=('nnunet', 'msd', 'mmwhs'), default='nnunet')
    parser.add_argument('--modality', choices=('ct', 'mr'), default='ct')
    parser.add_argument('--channels', type=int, default=1, choices=(1, 2))
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an earlier whole-heart phantom')
    args = parser.parse_args(argv)
    from ideal_mm.datasets.phantom import make_phantom_whs
    files = make_phantom_whs(
        args.out,
        num_cases=args.cases,
        num_test=args.test,
        seed=args.seed,
        size=tuple(args.size),
        num_slices=tuple(args.slices),
        layout=args.layout,
        modality=args.modality,
        num_channels=args.channels,
        overwrite=args.overwrite)
    print(f'wrote {len(files)} phantom cases ({args.layout}) to {args.out}')
    return 0


if __name__ == '__main__':
    run_cli(main)
