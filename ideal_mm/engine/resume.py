"""Make a resumed run draw the same random numbers as an uninterrupted one.

mmengine's checkpoints hold the weights, the optimizer, the schedulers and
the iteration, and ``IterBasedTrainLoop`` skips the batches already trained
on, so a resumed run sees the same batches. It does not restore the
random-number generators: after ``--resume`` the augmentations and dropout
draw from whatever state start-up (model initialisation, the skip) left, so
the final weights differ from those of an uninterrupted run.

:class:`IterSeedHook` removes that dependence on history: before the
training batch with index ``i`` is fetched, Python's ``random``, numpy's and
torch's global generators are reseeded from ``(seed, i)``. Batch ``i``'s
augmentation (``num_workers=0``: in the main process) and iteration ``i``'s
dropout then depend only on the seed and ``i``, whether or not the run was
interrupted before ``i``. Validation, checkpointing and logging between
iterations no longer shift later random numbers either.

Scope: data loading in worker processes (``num_workers > 0``) draws from the
workers' own generators, which mmengine seeds once per worker at start-up;
those are reproduced on resume only when the skip really loads the skipped
batches (plain mmengine loop; ``SemiSupSamplerHook``'s fast-forward does not).
Exact equality also needs deterministic kernels
(``randomness=dict(seed=..., deterministic=True)``), as on CPU.

``configs/_base_/default_runtime.py`` lists the hook under ``default_hooks``
(key ``iter_seed``) with ``deterministic_only=True``: every run has it, and it
reseeds only runs whose config asks for determinism, so other runs draw the
same random numbers as without it.
"""
from __future__ import annotations

import random
from typing import Any, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

HOOK_TYPE = 'IterSeedHook'


def seed_everything_for(seed: int, index: int) -> None:
    """Seed ``random``, numpy and torch (CPU and CUDA) from ``(seed, index)``.

    The pair goes through numpy's ``SeedSequence``, so neighbouring indices
    give unrelated streams.
    """
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF,
                                    int(index)]).generate_state(2)
    random.seed(int(state[0]))
    np.random.seed(int(state[1]))
    torch.manual_seed(int(state[0]) << 32 | int(state[1]))


class _ReseedingIterator:
    """Reseed from ``(seed, n)`` before the n-th batch (counted from 0)."""

    def __init__(self, iterator: Any, seed: int) -> None:
        self._iterator = iterator
        self._seed = seed
        self._index = 0

    def __iter__(self) -> '_ReseedingIterator':
        return self

    def __next__(self) -> Any:
        seed_everything_for(self._seed, self._index)
        self._index += 1
        return next(self._iterator)

    def __getattr__(self, name: str) -> Any:  # e.g. skip_iter, _dataloader
        return getattr(self._iterator, name)


@HOOKS.register_module()
class IterSeedHook(Hook):
    """Reseed the global RNGs before every training batch (see module doc).

    ``priority='LOWEST'`` makes this the last ``before_train`` hook, so its
    wrapper sits outside any other wrapper of the loop's iterator and counts
    every ``next()`` the loop makes, the resume skip included.

    Args:
        seed: base seed; default the runner's seed (``randomness.seed``).
        deterministic_only: reseed only when the runner's config sets
            ``randomness=dict(seed=<int>, deterministic=True)``; otherwise
            the hook does nothing. The config is read from ``runner.cfg``
            (``Runner.from_cfg`` keeps it; a Runner built without ``cfg`` is
            never reseeded with this on).
    """

    priority = 'LOWEST'

    def __init__(self,
                 seed: Optional[int] = None,
                 deterministic_only: bool = False) -> None:
        self.seed = seed
        self.deterministic_only = deterministic_only

    def before_train(self, runner) -> None:
        """Wrap the train loop's dataloader iterator."""
        if self.deterministic_only:
            randomness = runner.cfg.get('randomness') or {}
            if (not randomness.get('deterministic')
                    or randomness.get('seed') is None):
                return
        loop = runner.train_loop
        if not hasattr(loop, 'dataloader_iterator'):
            return  # epoch-based loops iterate the dataloader directly
        seed = self.seed if self.seed is not None else runner.seed
        loop.dataloader_iterator = _ReseedingIterator(loop.dataloader_iterator,
                                                      int(seed))
