"""Print the single best_*.pth checkpoint of a work dir.

Usage: python tools/best_checkpoint.py WORK_DIR [--pattern 'best_*.pth']

mmengine's CheckpointHook(save_best='mDice') names the file after its
iteration (best_mDice_iter_1800.pth). BCP's self-training phase starts from
the labelled phase's best checkpoint without knowing that number:

    python tools/train.py configs/demo/bcp_unet_phantom.py --cfg-options \
      model.segmentor.init_cfg.checkpoint=$(python tools/best_checkpoint.py \
      work_dirs/bcp_labelled_unet_phantom)

Exits non-zero, naming the folder, when it holds no such file or several.
"""
from __future__ import annotations

import argparse
from typing import List, Optional

from ideal_mm.errors import run_cli


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', help='work dir of a finished run')
    parser.add_argument(
        '--pattern',
        default='best_*.pth',
        help="file name pattern (default 'best_*.pth')")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Print the checkpoint's path."""
    args = parse_args(argv)
    from ideal_mm.engine.best_checkpoint import find_best_checkpoint
    print(find_best_checkpoint(args.work_dir, args.pattern))
    return 0


if __name__ == '__main__':
    run_cli(main)
