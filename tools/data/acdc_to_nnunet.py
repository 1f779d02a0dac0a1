"""Convert an ACDC root (download or phantom) to an nnU-Net v2 raw data set.

Example::

    python tools/data/acdc_to_nnunet.py --src data/ACDC \
        --out data/nnUNet_raw/Dataset027_ACDC

Every ED / ES frame becomes a case named by its ideal_mm volume id
(``patient001_frame01``), so nnU-Net trains on exactly the cases ideal_mm
uses; in ideal_mm read it with ``type='NnUNetDataset',
patient_regex=r'^(patient\\d{3})_'`` (both frames of a patient in one split).
"""
from __future__ import annotations

import argparse
from typing import List, Optional

from ideal_mm.errors import run_cli


def main(argv: Optional[List[str]] = None) -> int:
    """Convert; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--src', required=True, help='ACDC root (training/ and/or testing/)')
    parser.add_argument(
        '--out', required=True, help='the nnU-Net data set folder to create')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace a non-empty --out')
    args = parser.parse_args(argv)
    from ideal_mm.datasets.convert import acdc_to_nnunet
    meta = acdc_to_nnunet(args.src, args.out, args.overwrite)
    print(f'wrote {meta["numTraining"]} labelled cases to {args.out}')
    return 0


if __name__ == '__main__':
    run_cli(main)
