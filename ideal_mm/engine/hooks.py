"""Training hooks for semi-supervised fine-tuning.

* :class:`MeanTeacherHook` - the EMA teacher's update after every step.
* :class:`SemiSupSamplerHook` - makes ``SemiSupMultiSourceSampler`` resume
  exactly and quickly with mmengine's ``IterBasedTrainLoop``.
"""
from __future__ import annotations

from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ..errors import ConfigError

SEED_META_KEY = 'semi_sup_sampler_seed'


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class MeanTeacherHook(Hook):
    """Step the model's EMA teacher after every training iteration.

    The one EMA mechanism of the project (as mmdet's ``MeanTeacherHook``):
    the model's ``ema_teacher`` is mmengine's ``ExponentialMovingAverage``
    (a ``SemiSupervisedSegmentor`` whose ``semi_train_cfg`` has
    ``ema_momentum``: the teacher of its student;
    ``DenseContrastivePretrainer`` with ``key_branch='ema'``: the key branch
    of its query branch) and
    ``update_teacher()`` applies ``teacher <- (1 - m) teacher + m source``.
    It lives in a hook because under DDP ``runner.model`` is the wrapper and
    the update must follow the optimizer step, which ``loss`` never sees.

    Args:
        interval: update every ``interval`` iterations. Defaults to 1.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 1) -> None:
        if interval < 1:
            raise ConfigError(f'MeanTeacherHook.interval must be >= 1, '
                              f'got {interval}')
        self.interval = interval

    def before_train(self, runner) -> None:
        """Fail early when the model has no teacher to update."""
        if getattr(_unwrap(runner.model), 'ema_teacher', None) is None:
            raise ConfigError(
                'MeanTeacherHook needs a model with an EMA teacher (a '
                'semi-supervised model whose semi_train_cfg has ema_momentum,'
                " e.g. type='MeanTeacherSemiSupModel', or a "
                "DenseContrastivePretrainer with key_branch='ema'); remove "
                'the hook from custom_hooks for other models')

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """EMA step of the teacher."""
        if self.every_n_train_iters(runner, self.interval):
            _unwrap(runner.model).update_teacher()


class _FastForward:
    """Iterator whose first ``skip`` items are None and cost nothing.

    ``IterBasedTrainLoop.run`` calls ``next()`` ``iter`` times on resume to
    skip the batches already trained on; the sampler has already been
    advanced past them, so those calls need not load data.
    """

    def __init__(self, iterator, skip: int) -> None:
        self._iterator = iterator
        self._skip = skip

    def __iter__(self) -> '_FastForward':
        return self

    def __next__(self):
        if self._skip > 0:
            self._skip -= 1
            return None
        return next(self._iterator)


@HOOKS.register_module()
class SemiSupSamplerHook(Hook):
    """Exact, fast resume for ``SemiSupMultiSourceSampler``.

    mmengine 0.10.7's ``IterBasedTrainLoop`` resumes by calling ``next()`` on
    the dataloader iterator once per iteration already done. With this
    sampler that is already *correct* provided the stream is the same as in
    the first run, but (1) mmengine builds the train dataloader, and so the
    sampler's seed, before ``resume`` restores the checkpoint's seed, so an
    unseeded run would continue on a different stream, and (2) each skipped
    batch is loaded and augmented. This hook:

    * saves the sampler's seed in ``checkpoint['meta']`` and restores it
      when training resumes;
    * on resume (``before_train`` with ``iter > 0``) sets the sampler's
      ``start_iter`` to the loop's iteration, re-creates the dataloader
      iterator and lets the loop's skipping ``next()`` calls return None;
    * checks that the DataLoader's batch size equals the sampler's.

    It does nothing for other samplers.
    """

    priority = 'VERY_HIGH'

    @staticmethod
    def _sampler(runner):
        loop = runner.train_loop
        dataloader = getattr(loop, 'dataloader', None)
        sampler = getattr(dataloader, 'sampler', None)
        return sampler if hasattr(sampler, 'set_start_iter') else None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record the sampler's seed."""
        sampler = self._sampler(runner)
        if sampler is not None:
            checkpoint.setdefault('meta', {})[SEED_META_KEY] = sampler.seed

    def __init__(self) -> None:
        self._loaded_seed: Optional[int] = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Remember the seed of the run that wrote the checkpoint.

        It is applied in ``before_train`` only when training resumes
        (``iter > 0``); ``load_from`` alone starts a new stream.
        """
        seed = checkpoint.get('meta', {}).get(SEED_META_KEY)
        self._loaded_seed = None if seed is None else int(seed)

    def before_train(self, runner) -> None:
        """Check the batch size; on resume, fast-forward the sampler."""
        sampler = self._sampler(runner)
        if sampler is None:
            return
        loop = runner.train_loop
        batch_size = loop.dataloader.batch_size
        if batch_size != sampler.batch_size:
            raise ConfigError(
                f'train_dataloader.batch_size={batch_size} differs from '
                f'train_dataloader.sampler.batch_size={sampler.batch_size}; '
                'set both to the same value')
        done = int(getattr(loop, 'iter', 0))
        if done <= 0 or not hasattr(loop, 'dataloader_iterator'):
            return
        if self._loaded_seed is not None:
            sampler.seed = self._loaded_seed
        sampler.set_start_iter(done)
        loop.dataloader_iterator = _FastForward(iter(loop.dataloader), done)
