"""Draw what a config's pipeline yields, before training on it.

    python tools/analysis/browse_dataset.py CONFIG --out DIR [--num N]
        [--split train|val|test] [--checkpoint CKPT] [--seed S]
        [--cfg-options k=v ...]

Supervised and test pipelines: the slice with its label, per channel.
Stage-1 (pre-training) configs: the two views with corresponding embedding
cells joined by lines and the cells the loss ignores marked (plus a JSON of
the lines per sample). Stage-2 (semi-supervised) configs: labelled slices,
weak and strong views with pseudo-labels, and the CutMix / copy-paste mixes
with their targets, by the model's own code (untrained, or --checkpoint).
One PNG per sample and DIR/montage.png; the drawing is
:mod:`ideal_mm.analysis.browse`.
"""
from __future__ import annotations

import argparse
from typing import Optional, Sequence

from mmengine.config import DictAction  # light: no torch

from ideal_mm.errors import run_cli


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Draw samples of a config\'s pipeline (every stage)')
    parser.add_argument('config', help='config file')
    parser.add_argument('--out', required=True, help='folder for the PNGs')
    parser.add_argument(
        '--num',
        type=int,
        default=4,
        help='samples to draw (stage 2: labelled and '
        'unlabelled each; default 4)')
    parser.add_argument(
        '--split', default='train', choices=['train', 'val', 'test'])
    parser.add_argument(
        '--checkpoint',
        help='stage 2: model weights for the '
        'pseudo-labels (default: untrained model)')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the augmentation and mixing draws')
    parser.add_argument(
        '--scale',
        type=int,
        default=3,
        help='enlargement of every slice (default 3)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. '
        'train_dataloader.dataset.data_root=data/acdc')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Draw the samples and print where they went."""
    args = parse_args(argv)
    from ideal_mm.analysis.browse import browse_dataset
    browse_dataset(
        args.config,
        args.out,
        num=args.num,
        split=args.split,
        cfg_options=args.cfg_options,
        checkpoint=args.checkpoint,
        seed=args.seed,
        scale=args.scale)
    return 0


if __name__ == '__main__':
    run_cli(main)
