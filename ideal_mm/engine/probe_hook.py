"""``EncoderProbeHook``: linear-probe the encoder during pre-training and log
``probe/mDice``.

Pre-training (IDEAL stage 1) has no segmentation metric of its own: its loss
says how well views are matched, not whether the encoder is becoming useful for
segmentation. mmengine's validation loop would need a segmentor, so this hook
runs the linear probe of :mod:`ideal_mm.evaluation.probe` on the frozen query
encoder (``model.backbone``) every ``interval`` iterations and after training,
with the data of a fine-tuning config, and logs the per-volume Dice as
scalars a curve can be drawn from (``tools/analysis/plot_curves.py WORK_DIR
--keys probe/mDice``).
"""
from __future__ import annotations

import os.path as osp
import time
from typing import Any, Dict, Mapping, Optional, Union

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ..errors import ConfigError
from ..evaluation.probe import load_probe_data, probe_encoder

__all__ = ['EncoderProbeHook']


@HOOKS.register_module()
class EncoderProbeHook(Hook):
    """Every ``interval`` iterations (and after training) probe
    ``model.backbone``.

    The probe (:func:`ideal_mm.evaluation.probe.probe_encoder`): the encoder
    frozen in eval mode, a 1x1-convolution classifier over its standardised,
    upsampled levels trained for ``iters`` Adam steps with cross-entropy on the
    labelled train slices of ``probe_config``, then per-volume Dice on its
    ``split``. Only the main process probes (the others go on training); the
    encoder's train mode is restored afterwards, and the global random state is
    not touched (the probe has its own seeded generator).

    Logged at step ``s`` (iterations done): ``probe/mDice`` and
    ``probe/<class>_Dice`` (and ``probe/knn_mDice``, ``probe/knn_<class>_Dice``
    with ``knn=True``), through the runner's message hub (``update_scalar``),
    the visualizer (``vis_data/scalars.json``, TensorBoard, ...) and one log
    line. The message hub keeps them out of the ``train/`` namespace on
    purpose: the LoggerHook averages ``train/`` scalars over its window, which
    would mix probes of different iterations.

    Args:
        probe_config: path of a fine-tuning or supervised config (its
            ``train_dataloader.dataset``, ``<split>_dataloader.dataset`` and
            ``model.data_preprocessor``; its model is not built), or a dict
            with those keys.
        interval: probe every ``interval`` training iterations (> 0).
        iters: Adam steps of the linear probe.
        split: 'val' (default: pre-training does not look at test data) or
            'test'.
        knn: also run the dense kNN label transfer.
        lr: learning rate of the linear probe.
        seed: the probe's seed.
        cfg_options: overrides merged into the probe config (e.g.
            ``{'train_dataloader.dataset.data_root': ...}``).
        max_train_slices: use at most this many labelled train slices.
        batch_size: slices per encoder forward.
        at_start: also probe before the first iteration (step 0).
    """

    # after the LoggerHook (BELOW_NORMAL) writes the iteration's line
    priority = 'LOW'

    def __init__(self,
                 probe_config: Union[str, Mapping[str, Any]],
                 interval: int = 100,
                 iters: int = 200,
                 split: str = 'val',
                 knn: bool = False,
                 lr: float = 0.01,
                 seed: int = 0,
                 cfg_options: Optional[Mapping[str, Any]] = None,
                 max_train_slices: Optional[int] = None,
                 batch_size: int = 16,
                 at_start: bool = False) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ConfigError(
                f'EncoderProbeHook.interval={interval!r} must be an int >= 1')
        if not isinstance(iters, int) or iters < 1:
            raise ConfigError(
                f'EncoderProbeHook.iters={iters!r} must be an int >= 1')
        if split not in ('val', 'test'):
            raise ConfigError(
                f"EncoderProbeHook.split={split!r} must be 'val' or 'test'")
        if isinstance(probe_config, str):
            if not osp.isfile(probe_config):
                raise ConfigError(
                    f'EncoderProbeHook.probe_config: {probe_config} does not '
                    'exist; give the path of a fine-tuning config (e.g. '
                    'configs/demo/ideal_unet_phantom_finetune.py) relative to '
                    'the folder training starts from')
        elif not isinstance(probe_config, Mapping):
            raise ConfigError(
                'EncoderProbeHook.probe_config must be a config path or a '
                'dict with train_dataloader and val/test_dataloader')
        self.probe_config = probe_config
        self.interval = interval
        self.iters = iters
        self.split = split
        self.knn = bool(knn)
        self.lr = float(lr)
        self.seed = int(seed)
        self.cfg_options = dict(cfg_options or {})
        self.max_train_slices = max_train_slices
        self.batch_size = int(batch_size)
        self.at_start = bool(at_start)
        self._data = None
        self._last_step: Optional[int] = None
        #: the result of the latest probe (main process), for scripts and tests
        self.last_result: Optional[Dict[str, Any]] = None

    @staticmethod
    def _backbone(runner) -> torch.nn.Module:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        backbone = getattr(model, 'backbone', None)
        if not isinstance(backbone, torch.nn.Module):
            raise ConfigError(
                f'EncoderProbeHook needs a model with a `backbone` module; '
                f'{type(model).__name__} has none (remove the hook from '
                'custom_hooks)')
        return backbone

    def _load_config(self):
        from mmengine.config import Config
        if isinstance(self.probe_config, str):
            cfg = Config.fromfile(self.probe_config)
        else:
            cfg = Config(dict(self.probe_config))
        if self.cfg_options:
            cfg.merge_from_dict(self.cfg_options)
        return cfg

    def before_train(self, runner) -> None:
        """Check the model; load the probe slices once (main process)."""
        self._backbone(runner)
        if not is_main_process():
            return
        start = time.perf_counter()
        self._data = load_probe_data(
            self._load_config(),
            self.split,
            self.max_train_slices,
            progress=False)
        runner.logger.info(
            f'EncoderProbeHook: {len(self._data.train)} labelled train '
            f'slices, {len(self._data.test)} {self.split} slices loaded in '
            f'{time.perf_counter() - start:.1f} s; probing every '
            f'{self.interval} iterations')
        if self.at_start:
            self._probe(runner, 0)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Any = None) -> None:
        """Probe when ``interval`` iterations have passed."""
        if self.every_n_train_iters(runner, self.interval):
            self._probe(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        """Probe the final encoder unless the last iteration was just
        probed."""
        if self._last_step != runner.iter:
            self._probe(runner, runner.iter)

    def _probe(self, runner, step: int) -> None:
        if not is_main_process() or self._data is None:
            return
        backbone = self._backbone(runner)
        was_training = backbone.training
        start = time.perf_counter()
        try:
            result = probe_encoder(
                backbone,
                self._data,
                iters=self.iters,
                lr=self.lr,
                seed=self.seed,
                linear=True,
                knn=self.knn,
                batch_size=self.batch_size,
                progress=False)
        finally:
            backbone.train(was_training)
        scalars: Dict[str, float] = {}
        for name, prefix in (('linear', 'probe/'), ('knn', 'probe/knn_')):
            if name not in result:
                continue
            scalars[f'{prefix}mDice'] = float(result[name]['mDice'])
            for cls, value in result[name]['per_class'].items():
                scalars[f'{prefix}{cls}_Dice'] = float(value)
        for key, value in scalars.items():
            runner.message_hub.update_scalar(key, value)
        runner.visualizer.add_scalars(scalars, step=step)
        self._last_step = step
        self.last_result = result
        text = '  '.join(f'{k[len("probe/"):]}: {v:.4f}'
                         for k, v in scalars.items())
        runner.logger.info(
            f'probe (iter {step}, {self.split}, linear {self.iters} it): '
            f'{text}  ({time.perf_counter() - start:.1f} s)')
