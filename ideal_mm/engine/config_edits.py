"""Command-line edits of a loaded config, shared by tools/ and users' scripts.

mmseg's tools do this inline; ideal_mm needs a few more steps, kept here so
that every entry point behaves the same: the config is read with a clear
error, the work dir resolved, distributed runs without CUDA use the gloo
backend and a DDP wrapper without ``device_ids`` (mmengine's defaults assume
one GPU per rank), ``ACDCVolumeMetric`` evaluators write ``per_case.csv`` /
``summary.json`` into the work dir, and the ``--amp`` / ``--channels-last`` /
``--out`` / ``--show-dir`` switches become config edits. The start-up checks
are in :mod:`.config_checks`, the checkpoint checks in
:mod:`.checkpoint_checks`.
"""
from __future__ import annotations

import os.path as osp
from typing import Any, List, Optional

import torch
from mmengine.config import Config, ConfigDict

from ..errors import ConfigError
from .config_walk import drop_pretrained, evaluator_metrics, replace_types

VOLUME_METRICS = ('ACDCVolumeMetric', )

# Hooks every training run needs, by their ``default_hooks`` key in
# configs/_base_/default_runtime.py: the NaN/inf stop and the per-batch
# reseeding of deterministic runs (inert unless ``randomness.deterministic``).
REQUIRED_HOOKS = (
    ('nonfinite', dict(type='NonFiniteLossHook')),
    ('iter_seed', dict(type='IterSeedHook', deterministic_only=True)),
    ('verified_init', dict(type='VerifiedInitHook')),
)


def add_hook_once(cfg: Config, hook_type: str, also: tuple = (),
                  **kwargs: Any) -> None:
    """Append ``dict(type=hook_type, **kwargs)`` to ``cfg.custom_hooks``
    unless a hook of that type (or one of the classes in ``also``) is there.
    """
    hooks: List[Any] = list(cfg.get('custom_hooks') or [])
    names = (hook_type, ) + tuple(also)
    if not any(isinstance(h, dict) and h.get('type') in names for h in hooks):
        hooks.append(ConfigDict(type=hook_type, **kwargs))
    cfg.custom_hooks = hooks


def ensure_required_hooks(cfg: Config) -> None:
    """Give a training config the hooks of :data:`REQUIRED_HOOKS`.

    ``configs/_base_/default_runtime.py`` lists them under ``default_hooks``,
    which a child's ``default_hooks`` dict merges into and a child's
    ``custom_hooks`` list cannot replace, so every config of this repository
    already has them and this function changes nothing there. It is the one
    fallback for configs that do not inherit that runtime (a user's config
    built on mmseg's own runtime): a required hook whose key is not in
    ``default_hooks`` and whose type is in neither ``default_hooks`` nor
    ``custom_hooks`` is added under its key.

    Opting out: ``default_hooks.<key>=None`` (e.g. ``nonfinite=None``; the
    key is removed here, because mmengine 0.10 accepts ``None`` only for its
    own default keys) or, for the NaN/inf stop, ``nonfinite_check = False``.
    """
    hooks = cfg.get('default_hooks')
    hooks = ConfigDict() if hooks is None else hooks
    if cfg.get('nonfinite_check', True) is False:
        hooks['nonfinite'] = None
    present = {
        h.get('type')
        for h in list(hooks.values()) + list(cfg.get('custom_hooks') or [])
        if isinstance(h, dict)
    }
    for key, hook in REQUIRED_HOOKS:
        if key in hooks:
            if hooks[key] is None:
                del hooks[key]
        elif hook['type'] not in present:
            hooks[key] = ConfigDict(hook)
    cfg.default_hooks = hooks


def set_metric_out_dirs(cfg: Config, work_dir: str) -> None:
    """Point volume metrics without an ``out_dir`` at the work dir.

    Validation writes into ``<work_dir>/val`` (overwritten at every
    validation), testing into ``<work_dir>``.
    """
    for name, sub in (('val_evaluator', 'val'), ('test_evaluator', '')):
        evaluator = cfg.get(name)
        if evaluator is None:
            continue
        for item in evaluator_metrics(evaluator):
            if item.get('type') in VOLUME_METRICS and not item.get('out_dir'):
                item['out_dir'] = osp.join(work_dir, sub) if sub else work_dir


def setup_cpu_distributed(cfg: Config) -> None:
    """Make ``launcher != 'none'`` work on machines without CUDA.

    mmengine initialises the default process group with the configured
    backend (nccl in mmseg's runtime) and wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]``; both need a GPU. Without CUDA the backend
    becomes gloo and the wrapper gets ``device_ids=None`` (CPU DDP). SyncBN
    needs CUDA, so BN layers stay plain BN there.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
    dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
        type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if not torch.distributed.is_initialized():
        # mmengine's _init_dist_pytorch calls torch.cuda.set_device first,
        # which fails on a CPU-only build; initialise the group here instead.
        torch.distributed.init_process_group(backend='gloo')
    replace_types(cfg.get('model'), 'SyncBN', 'BN')


def enable_amp(cfg: Config, dtype: str = 'bfloat16') -> None:
    """Switch the optimizer wrapper to mmengine's AmpOptimWrapper.

    mmengine's AmpOptimWrapper needs an accelerator; on a CPU-only machine
    this raises a ConfigError instead of failing inside the runner.
    """
    if not torch.cuda.is_available():
        raise ConfigError(
            '--amp (optim_wrapper.type=AmpOptimWrapper) needs a GPU: mmengine '
            'supports mixed precision only on CUDA/NPU/MLU devices; train on '
            'the CPU without --amp (fp32 is the CPU default)')
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper == 'AmpOptimWrapper':
        return
    if optim_wrapper != 'OptimWrapper':
        raise ConfigError(
            f'--amp needs optim_wrapper.type OptimWrapper, got {optim_wrapper}'
        )
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.dtype = dtype
    if dtype == 'float16':
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def enable_channels_last(cfg: Config) -> None:
    """Add :class:`ChannelsLastHook` (channels_last model and inputs) once."""
    add_hook_once(cfg, 'ChannelsLastHook')


def set_prediction_dir(cfg: Config, out_dir: str) -> None:
    """Ask the volume metrics of ``test_evaluator`` to also write each
    predicted volume as NIfTI into ``out_dir``."""
    for item in evaluator_metrics(cfg.get('test_evaluator')):
        if item.get('type') in VOLUME_METRICS:
            item['pred_dir'] = out_dir


def set_show_dir(cfg: Config, show_dir: str) -> None:
    """Paint every test prediction into ``show_dir`` (visualization hook)."""
    hook = (cfg.get('default_hooks') or {}).get('visualization')
    if hook is not None:
        hook['draw'] = True
        hook['interval'] = 1
        cfg.visualizer['save_dir'] = show_dir


def weights_from_checkpoint(cfg: Config) -> None:
    """Drop ``Pretrained`` init_cfgs: a checkpoint holds the whole model."""
    drop_pretrained(cfg.get('model'))


def resolve_work_dir(cfg: Config, config_path: str,
                     work_dir: Optional[str]) -> str:
    """``--work-dir`` > ``cfg.work_dir`` > ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])
    return cfg.work_dir


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file with a clear error for a missing or broken one."""
    if not osp.isfile(path):
        raise ConfigError(f'config file {path!r} does not exist; configs live '
                          f'under configs/ (e.g. configs/ideal/unet_acdc.py)')
    try:
        cfg = Config.fromfile(path)
    except (SyntaxError, NameError, ImportError, KeyError, TypeError) as err:
        raise ConfigError(f'config {path!r} cannot be read: '
                          f'{type(err).__name__}: {err}') from err
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
