"""Convert the MM-WHS 2017 download to an nnU-Net v2 raw data set.

Example::

    python tools/data/convert_mmwhs.py --src data/MMWHS --out data/MMWHS_CT \
        --modality ct
    python tools/data/convert_mmwhs.py --src data/MMWHS --out data/MMWHS_MR \
        --modality mr

``--src`` holds ``ct_train/ct_train_1001_image.nii.gz`` + ``..._label.nii.gz``
(and ``mr_train/``, ``ct_test/``, ``mr_test/``). Labels 205 (LV myocardium),
420 (LA), 500 (LV), 550 (RA), 600 (RV), 820 (ascending aorta) and 850
(pulmonary artery) become 1..7; the test images go to ``imagesTs``
(unlabelled). ``--extra-map 421=2`` maps further raw values. Nothing is
written unless every case converts (see
:func:`ideal_mm.datasets.convert.convert_mmwhs`).
"""
from __future__ import annotations

import argparse
from typing import Dict, List, Optional

from ideal_mm.errors import ConfigError, run_cli


def parse_map(items: Optional[List[str]]) -> Dict[int, int]:
    """``RAW=INDEX`` items -> dict."""
    out: Dict[int, int] = {}
    for item in items or []:
        raw, sep, idx = item.partition('=')
        if not sep or not raw.strip().isdigit() or not idx.strip().isdigit():
            raise ConfigError(f'--extra-map {item!r} must be RAW=INDEX, e.g. '
                              '421=2')
        out[int(raw)] = int(idx)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    """Convert; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--src', required=True, help='the MM-WHS folder')
    parser.add_argument(
        '--out', required=True, help='the nnU-Net data set folder to create')
    parser.add_argument('--modality', choices=('ct', 'mr'), default='ct')
    parser.add_argument(
        '--extra-map',
        nargs='+',
        metavar='RAW=INDEX',
        help='further raw label values to map')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace a non-empty --out')
    args = parser.parse_args(argv)
    from ideal_mm.datasets.convert import convert_mmwhs
    meta = convert_mmwhs(args.src, args.out, args.modality,
                         parse_map(args.extra_map), args.overwrite)
    print(f'wrote {meta["numTraining"]} labelled cases to {args.out} '
          f'(classes: {", ".join(meta["labels"])})')
    return 0


if __name__ == '__main__':
    run_cli(main)
