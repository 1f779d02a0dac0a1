"""What tools/train.py and tools/test.py do, as functions users can call.

Each ``prepare_*`` reads a config, applies the command-line switches and runs
every start-up check (a bad config or checkpoint fails here, before the
Runner creates the work dir); ``run`` builds the Runner (``runner_type`` if
the config names one) and trains or tests.
"""
from __future__ import annotations

import os.path as osp
from typing import Optional

from mmengine.config import Config

from .checkpoint_checks import check_checkpoint_fits
from .config_checks import config_errors, validate_config
from .config_edits import (enable_amp, enable_channels_last,
                           ensure_required_hooks, load_config,
                           resolve_work_dir, set_metric_out_dirs,
                           set_prediction_dir, set_show_dir,
                           setup_cpu_distributed, weights_from_checkpoint)


def prepare_train_config(config: str,
                         work_dir: Optional[str] = None,
                         cfg_options: Optional[dict] = None,
                         launcher: str = 'none',
                         resume: bool = False,
                         amp: bool = False,
                         channels_last: bool = False) -> Config:
    """The checked training config of ``config`` with the switches applied.

    ``resume``, ``amp`` and ``channels_last`` are or-ed with the config's own
    switches of the same names.
    """
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    work_dir = resolve_work_dir(cfg, config, work_dir)
    validate_config(cfg)
    cfg.resume = resume or cfg.get('resume', False)
    if cfg.get('load_from') and not cfg.resume:
        check_checkpoint_fits(cfg, cfg.load_from, 'load_from')
    set_metric_out_dirs(cfg, work_dir)
    # NonFiniteLossHook / IterSeedHook come from default_runtime's
    # default_hooks; only configs without that runtime get them here.
    ensure_required_hooks(cfg)
    if amp or cfg.get('amp', False):
        enable_amp(cfg)
    if channels_last or cfg.get('channels_last', False):
        enable_channels_last(cfg)
    setup_cpu_distributed(cfg)
    return cfg


def prepare_test_config(config: str,
                        checkpoint: str,
                        work_dir: Optional[str] = None,
                        cfg_options: Optional[dict] = None,
                        launcher: str = 'none',
                        out_dir: Optional[str] = None,
                        show_dir: Optional[str] = None) -> Config:
    """The checked test config of ``config`` loading ``checkpoint``.

    ``out_dir``: also write each predicted volume as NIfTI there;
    ``show_dir``: paint every prediction there.
    """
    from ..errors import CheckpointError
    if not osp.isfile(checkpoint):
        raise CheckpointError(
            f'checkpoint {checkpoint!r} does not exist; pass a .pth from '
            f'a work dir (e.g. work_dirs/<config>/best_mDice_iter_*.pth)')
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    work_dir = resolve_work_dir(cfg, config, work_dir)
    # The checkpoint holds the whole model: stage-1 weights are not needed.
    weights_from_checkpoint(cfg)
    validate_config(cfg)
    check_checkpoint_fits(cfg, checkpoint, 'CHECKPOINT')
    set_metric_out_dirs(cfg, work_dir)
    cfg.load_from = checkpoint
    if show_dir:
        set_show_dir(cfg, show_dir)
    if out_dir:
        set_prediction_dir(cfg, out_dir)
    setup_cpu_distributed(cfg)
    return cfg


def run(cfg: Config, mode: str) -> None:
    """Build the Runner from ``cfg`` and call ``train()`` or ``test()``;
    a registry KeyError becomes a ConfigError. After training, the process
    group is torn down (gloo's transport threads left alive at exit were seen
    to abort a rank with "terminate called without an active exception")."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    with config_errors():
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else \
            RUNNERS.build(cfg)
        getattr(runner, mode)()
    if mode == 'train':
        import torch.distributed as torch_dist
        if torch_dist.is_available() and torch_dist.is_initialized():
            torch_dist.barrier()
            torch_dist.destroy_process_group()
