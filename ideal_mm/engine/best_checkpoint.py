"""The best checkpoint of a finished run, found without its iteration.

mmengine's ``CheckpointHook(save_best='mDice')`` names the file after the
iteration it was saved at (``best_mDice_iter_1800.pth``) and keeps one; a
config that starts from it (BCP's self-training phase) cannot name it in
advance, so :func:`find_best_checkpoint` looks it up (used by
``tools/best_checkpoint.py`` and the study runner's first stage).
"""
from __future__ import annotations

import glob
import os.path as osp

from ..errors import CheckpointError

__all__ = ['find_best_checkpoint']


def find_best_checkpoint(work_dir: str, pattern: str = 'best_*.pth') -> str:
    """The single ``best_*.pth`` that mmengine's ``CheckpointHook(
    save_best=...)`` left in ``work_dir`` (its name carries the iteration,
    e.g. ``best_mDice_iter_1800.pth``).

    Raises ``CheckpointError`` naming the folder when it does not exist,
    holds no such file or several.
    """
    if not osp.isdir(work_dir):
        raise CheckpointError(
            f'{work_dir!r} is not a folder: pass the work dir of a '
            'finished run (BCP: its labelled phase, e.g. '
            'work_dirs/bcp_labelled_unet_phantom)')
    found = sorted(glob.glob(osp.join(work_dir, pattern)))
    if len(found) != 1:
        what = 'no' if not found else f'{len(found)} ({", ".join(found)})'
        raise CheckpointError(
            f'{work_dir}: {what} {pattern} files, expected exactly one (a '
            'run with default_hooks.checkpoint.save_best keeps one): train '
            'it to its first validation, or pass the file itself (BCP: '
            '--cfg-options model.segmentor.init_cfg.checkpoint=PATH)')
    return found[0]
