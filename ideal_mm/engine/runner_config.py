"""Config preparation shared by tools/train.py, tools/test.py and users' scripts.

mmseg's tools do this inline; ideal_mm needs a few more steps, kept here so
that every entry point behaves the same:

* distributed runs without CUDA use the gloo backend and a DDP wrapper without
  ``device_ids`` (mmengine's defaults assume one GPU per rank);
* ``ACDCVolumeMetric`` evaluators write ``per_case.csv`` / ``summary.json``
  into the work dir when no ``out_dir`` is configured;
* a ``Pretrained`` init_cfg that names a local file which does not exist fails
  at start-up, before any data is read, with the command that creates it.
"""
from __future__ import annotations

import os.path as osp
from typing import Any, Iterator, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict

from ..errors import ConfigError

VOLUME_METRICS = ('ACDCVolumeMetric', )


def _iter_init_cfgs(obj: Any, key: str = 'model'
                    ) -> Iterator[Tuple[str, dict]]:
    """Yield (config key, init_cfg dict) for every init_cfg below ``obj``."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            child = f'{key}.{k}'
            if k == 'init_cfg':
                items = v if isinstance(v, (list, tuple)) else [v]
                for item in items:
                    if isinstance(item, dict):
                        yield child, item
            else:
                yield from _iter_init_cfgs(v, child)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _iter_init_cfgs(v, f'{key}[{i}]')


def check_pretrained_files(cfg: Config) -> None:
    """Raise ConfigError when a Pretrained init_cfg names a missing local file.

    The message gives the config key, the command that creates the file when
    the config names one (``pretrain_config = '...'``) and how to train from
    scratch instead.
    """
    for key, init_cfg in _iter_init_cfgs(cfg.get('model', {})):
        if init_cfg.get('type') != 'Pretrained':
            continue
        ckpt = init_cfg.get('checkpoint')
        if not isinstance(ckpt, str) or '://' in ckpt or ckpt.startswith(
            ('open-mmlab', 'mmcls', 'torchvision')):
            continue
        if osp.isfile(ckpt):
            continue
        hint = ''
        pretrain_config = cfg.get('pretrain_config')
        if pretrain_config:
            hint = (f' Create it with `python tools/train.py {pretrain_config}`'
                    f' (or `bash tools/run_ideal.sh {pretrain_config} '
                    f'<finetune config>`), pass another file with '
                    f'--cfg-options {key}.checkpoint=PATH,')
        else:
            hint = f' Pass an existing file with --cfg-options {key}.checkpoint=PATH,'
        raise ConfigError(
            f'pre-trained weights {ckpt!r} ({key}.checkpoint) do not exist.'
            f'{hint} or train from scratch with --cfg-options {key}=None.')


def set_metric_out_dirs(cfg: Config, work_dir: str) -> None:
    """Point volume metrics without an ``out_dir`` at the work dir.

    Validation writes into ``<work_dir>/val`` (overwritten at every
    validation), testing into ``<work_dir>``.
    """
    for name, sub in (('val_evaluator', 'val'), ('test_evaluator', '')):
        evaluator = cfg.get(name)
        if evaluator is None:
            continue
        items = evaluator if isinstance(evaluator, list) else [evaluator]
        if isinstance(evaluator, dict) and 'metrics' in evaluator:
            items = evaluator['metrics']
            items = items if isinstance(items, list) else [items]
        for item in items:
            if isinstance(item, dict) and item.get(
                    'type') in VOLUME_METRICS and not item.get('out_dir'):
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
    _replace_syncbn(cfg.get('model'))


def _replace_syncbn(obj: Any) -> None:
    if isinstance(obj, dict):
        if obj.get('type') == 'SyncBN':
            obj['type'] = 'BN'
        for v in obj.values():
            _replace_syncbn(v)
    elif isinstance(obj, list):
        for v in obj:
            _replace_syncbn(v)


def enable_amp(cfg: Config, dtype: str = 'bfloat16') -> None:
    """Switch the optimizer wrapper to mmengine's AmpOptimWrapper."""
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper == 'AmpOptimWrapper':
        return
    if optim_wrapper != 'OptimWrapper':
        raise ConfigError(
            f'--amp needs optim_wrapper.type OptimWrapper, got {optim_wrapper}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.dtype = dtype
    if dtype == 'float16':
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


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

