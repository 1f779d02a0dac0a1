"""Export the encoder of a saved checkpoint as an mmseg-loadable encoder.pth.

Usage: python tools/export_encoder.py CHECKPOINT OUT [--prefix backbone.]
           [--exclude KEY_PREFIX ...]

CHECKPOINT may be a pre-training, segmentor or semi-supervised checkpoint
(any model with a `backbone`; of a semi-supervised model built on a student,
e.g. the two-stream BiConsistencySemiSupModel, the student's encoder
`student.backbone.*`); OUT receives
{'state_dict': {'backbone.<k>': v}, 'meta': {...}}, written atomically, which
loads with init_cfg=dict(type='Pretrained', checkpoint=OUT,
prefix='backbone.').
--exclude leaves encoder keys with these prefixes out (e.g. encoder.0. for the
full-resolution UNet stage, as IDEAL's UNet pre-training configs do), so the
loading model keeps its random initialisation there.
"""
from __future__ import annotations

import argparse
from typing import List, Optional

from ideal_mm.errors import run_cli


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='checkpoint (.pth) to read')
    parser.add_argument('out', help='encoder file to write (e.g. encoder.pth)')
    parser.add_argument(
        '--prefix',
        default='backbone.',
        help="key prefix of the encoder (default 'backbone.')")
    parser.add_argument(
        '--exclude',
        nargs='+',
        default=[],
        metavar='KEY_PREFIX',
        help="encoder key prefixes to leave out, e.g. 'encoder.0.'")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Export and print a one-line summary."""
    args = parse_args(argv)
    # torch only after the arguments are read (--help is instant); compat
    # allow-lists mmengine's checkpoint types
    from ideal_mm import compat  # noqa: F401
    from ideal_mm.engine.export_encoder import export_encoder
    meta = export_encoder(
        args.checkpoint, args.out, prefix=args.prefix, exclude=args.exclude)
    left_out = (f', left out {" ".join(args.exclude)}' if args.exclude else '')
    print(f'wrote {args.out}: {meta["num_tensors"]} encoder tensors '
          f'(keys {args.prefix}*) from {args.checkpoint}{left_out}')
    return 0


if __name__ == '__main__':
    run_cli(main)
