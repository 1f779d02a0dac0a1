"""Stop training at the first non-finite loss, before it is checkpointed.

mmengine logs a NaN loss and goes on: the weights become NaN, the next
checkpoints overwrite the good ones (``max_keep_ckpts``) and hours later the
run "finishes" with a useless model. :class:`NonFiniteLossHook` checks the
loss terms that ``train_step`` returns after every iteration and raises
:class:`NonFiniteLossError` naming the iteration and the terms. It runs with
``VERY_HIGH`` priority, i.e. before ``CheckpointHook`` (``VERY_LOW``) saves
that iteration, so the newest checkpoint on disk is the last good one.

``configs/_base_/default_runtime.py`` lists the hook under
``default_hooks`` (key ``nonfinite``), so every config that inherits it keeps
the hook whatever its ``custom_hooks`` are;
:func:`ideal_mm.engine.config_edits.ensure_required_hooks` adds it to
training configs that do not inherit that runtime.
"""
from __future__ import annotations

import math
import os.path as osp
from typing import Any, Dict, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ..errors import ConfigError, IdealMMError

HOOK_TYPE = 'NonFiniteLossHook'


class NonFiniteLossError(IdealMMError, FloatingPointError):
    """A loss term became NaN or infinite; training was stopped."""


def _as_float(value: Any) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            return float(value.detach().float().sum())
        return float(value.detach().float())
    if isinstance(value, (int, float)):
        return float(value)
    return None


def non_finite_terms(outputs: Optional[Dict[str, Any]]) -> Dict[str, float]:
    """The loss terms of ``outputs`` (train_step's log vars) that are NaN/inf.

    Only keys containing ``'loss'`` are checked (as mmengine sums them);
    other log vars (accuracies, ramp-up weights) are ignored.
    """
    bad: Dict[str, float] = {}
    for key, value in (outputs or {}).items():
        if 'loss' not in key:
            continue
        number = _as_float(value)
        if number is not None and not math.isfinite(number):
            bad[key] = number
    return bad


def last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint mmengine's ``last_checkpoint`` file in ``work_dir``
    points to, when that file exists; None otherwise."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        path = f.read().strip()
    return path if path and osp.isfile(path) else None


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` at the first NaN / inf loss term.

    The message names the 1-based iteration (as in ``Iter(train) [k/N]``),
    the non-finite terms (e.g. ``decode.loss_ce=nan``), the last checkpoint
    (kept intact: this hook runs before ``CheckpointHook``) and how to go on.
    Under distributed training every rank stops at the same iteration (one
    all-reduced flag), so no rank waits forever in the next collective.

    Args:
        interval: check every ``interval`` iterations (default 1; the check
            costs one float per loss term).
    """

    priority = 'VERY_HIGH'

    def __init__(self, interval: int = 1) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ConfigError(
                f'NonFiniteLossHook.interval must be an int >= 1, got '
                f'{interval!r}')
        self.interval = interval

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[Any] = None,
                         outputs: Optional[Dict[str, Any]] = None) -> None:
        """Check this iteration's loss terms; stop training if any is not
        finite."""
        if not self.every_n_train_iters(runner, self.interval):
            return
        bad = non_finite_terms(outputs)
        if get_world_size() > 1:
            flag = torch.tensor([1.0 if bad else 0.0])
            all_reduce(flag)
            if not bad and float(flag) > 0:
                bad = {'(another rank)': float('nan')}
        if not bad:
            return
        iteration = runner.iter + 1
        terms = [k for k in bad if k != 'loss'] or list(bad)
        described = ', '.join(f'{k}={bad[k]}' for k in terms)
        if 'loss' in bad and terms != ['loss']:
            described += f' (total loss={bad["loss"]})'
        last = last_checkpoint(runner.work_dir)
        kept = (f'the last checkpoint {last} was saved before it and is kept'
                if last else 'no checkpoint had been saved yet')
        raise NonFiniteLossError(
            f'non-finite loss at iteration {iteration}: {described}; training '
            f'stopped and {kept}. Resume with --resume after lowering the '
            'learning rate (optim_wrapper.optimizer.lr) or adding gradient '
            'clipping (optim_wrapper.clip_grad=dict(max_norm=...))')
