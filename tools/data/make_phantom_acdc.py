"""Generate phantom ACDC data (synthetic cardiac MRI in the raw ACDC layout).

Example::

    python tools/data/make_phantom_acdc.py --out data/phantom_acdc \
        --patients 30 --seed 0 --size 112 112

Writes ``<out>/training/patient<NNN>/`` with Info.cfg, ED/ES frames and their
labels (see :func:`ideal_mm.datasets.phantom.make_phantom_acdc`). Refuses a
non-empty ``--out`` unless ``--overwrite`` is given and it holds an earlier
phantom dataset.
"""
from __future__ import annotations

import argparse
import os
from typing import List, Optional

from ideal_mm.errors import run_cli


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='dataset root to create')
    parser.add_argument(
        '--patients',
        type=int,
        default=12,
        help='number of patients (default 12)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='fixed in-plane size (default: 200-260 x 180-240)')
    parser.add_argument(
        '--slices',
        type=int,
        nargs=2,
        metavar=('MIN', 'MAX'),
        default=(6, 12),
        help='slices per volume (default 6 12)')
    parser.add_argument(
        '--start-id',
        type=int,
        default=1,
        help='number of the first patient (default 1)')
    parser.add_argument(
        '--with-4d',
        action='store_true',
        help='also write patient<NNN>_4d.nii.gz cine files')
    parser.add_argument(
        '--variability',
        choices=('standard', 'high'),
        default='standard',
        help="'high': per-patient contrast profiles, heart "
        'pose and size, artefacts and unlabelled look-alikes '
        '(few-label training has headroom); default standard')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an earlier phantom dataset in --out')
    return parser.parse_args(argv)


def main() -> int:
    """Generate the dataset; returns the exit code."""
    args = parse_args()
    from ideal_mm.datasets.phantom import DEFAULT_SIZE, make_phantom_acdc
    folders = make_phantom_acdc(
        args.out,
        num_patients=args.patients,
        seed=args.seed,
        size=tuple(args.size) if args.size else DEFAULT_SIZE,
        num_slices=tuple(args.slices),
        with_4d=args.with_4d,
        start_id=args.start_id,
        overwrite=args.overwrite,
        progress=True,
        variability=args.variability)
    print(f'wrote {len(folders)} phantom patients to '
          f'{os.path.join(args.out, "training")}')
    return 0


if __name__ == '__main__':
    run_cli(main)
