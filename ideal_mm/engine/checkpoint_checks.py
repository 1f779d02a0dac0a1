"""Checkpoints: read one safely and check that it holds exactly this model.

mmengine's Runner only logs a warning when ``load_from`` misses keys or has
other shapes, and goes on with random weights; tools/train.py, tools/test.py
and ``ideal_mm.apis.init_model`` refuse such a checkpoint before anything is
written. Reading is mmengine's ``_load_checkpoint`` (with the weights-only
allow-list of :mod:`ideal_mm.compat.checkpoint`); the keys are revised by the
rule mmengine's ``Runner.load_checkpoint`` applies to ``load_from`` (its
``revise_keys`` default, read from mmengine rather than written here again),
so the check sees the keys the Runner will load.
"""
from __future__ import annotations

import copy
import inspect
import os.path as osp
import re
from typing import Any, List, Tuple

from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from ..errors import CheckpointError
from .config_checks import config_errors

#: ``[(pattern, replacement)]`` mmengine applies to checkpoint keys when the
#: Runner loads ``load_from`` (strips ``module.`` of DDP-wrapped models).
RUNNER_REVISE_KEYS: List[Tuple[str, str]] = list(
    inspect.signature(
        Runner.load_checkpoint).parameters['revise_keys'].default)


def _few(keys: List[str], n: int = 5) -> str:
    head = ', '.join(keys[:n])
    return head + (f', ... ({len(keys)} in all)' if len(keys) > n else '')


def read_checkpoint_state(checkpoint: str, option: str) -> Tuple[dict, dict]:
    """Load ``checkpoint`` safely; return (state dict as the Runner loads
    it, the whole file).

    Raises CheckpointError for a missing file, a refused or corrupt pickle
    (see :mod:`ideal_mm.compat.checkpoint`) or a file that is not a dict.
    ``option`` names where the file came from (e.g. ``'load_from'``).
    """
    if not osp.isfile(checkpoint):
        raise CheckpointError(
            f'{option}: checkpoint {checkpoint!r} does not exist; pass a .pth '
            'from a work dir (e.g. work_dirs/<config>/best_mDice_iter_*.pth)')
    ckpt = _load_checkpoint(checkpoint, map_location='cpu')
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'{option}: {checkpoint!r} holds a '
                              f'{type(ckpt).__name__}, not a checkpoint dict')
    state = ckpt.get('state_dict', ckpt)
    for pattern, replacement in RUNNER_REVISE_KEYS:
        state = {re.sub(pattern, replacement, k): v for k, v in state.items()}
    return state, ckpt


def check_state_fits(model: Any, state: dict, checkpoint: str,
                     option: str) -> None:
    """Raise CheckpointError unless ``state`` has exactly ``model``'s tensors.

    Missing keys, unexpected keys and shape mismatches are reported (the
    first few of each); mmengine would otherwise only log a warning and go on
    with random weights.
    """
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(
        f'{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}'
        for k in set(state) & set(expected)
        if hasattr(state[k], 'shape') and state[k].shape != expected[k].shape)
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f'missing keys: {_few(missing, 3)}')
    if unexpected:
        parts.append(f'unexpected keys: {_few(unexpected, 3)}')
    if shapes:
        parts.append(f'shape mismatches (checkpoint vs model): '
                     f'{_few(shapes, 3)}')
    raise CheckpointError(
        f'{option}: {checkpoint!r} is not a checkpoint of this model '
        f'({"; ".join(parts)}); pass the config it was trained with (its work '
        'dir holds a copy), or load part of it with init_cfg=dict('
        "type='Pretrained', checkpoint=..., prefix='backbone.')")


def check_checkpoint_fits(cfg: Config, checkpoint: str, option: str) -> None:
    """Raise CheckpointError unless ``checkpoint`` holds exactly this model.

    The model is built from ``cfg.model`` (no weights are initialised or
    loaded) and compared with :func:`check_state_fits`.
    """
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    state, _ = read_checkpoint_state(checkpoint, option)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    with config_errors():
        model = MODELS.build(copy.deepcopy(cfg.model))
    check_state_fits(model, state, checkpoint, option)
