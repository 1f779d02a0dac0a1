"""Building a trained segmentor for inference: :func:`init_model`.

Like :func:`mmseg.apis.init_model` (model from the config, weights through
mmengine's ``load_state_dict``), with the checks and fallbacks NIfTI
inference needs; see :func:`init_model`.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner.checkpoint import load_state_dict

from ideal_mm.engine.checkpoint_checks import (check_state_fits,
                                               read_checkpoint_state)
from ideal_mm.engine.config_edits import load_config
from ideal_mm.engine.config_walk import drop_pretrained
from ideal_mm.errors import ConfigError

__all__ = ['ACDC_METAINFO', 'init_model', 'dataset_cfg']

#: Fallback class names and palette (those of ``ACDCDataset.METAINFO``) when
#: neither the checkpoint nor the config's dataset provides them.
ACDC_METAINFO: Dict[str, Any] = dict(
    classes=('background', 'RV', 'Myo', 'LV'),
    palette=[[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200]])


def dataset_cfg(cfg: Config, split: str = 'test') -> Optional[dict]:
    """The (innermost) dataset config of ``<split>_dataloader``."""
    loader = cfg.get(f'{split}_dataloader')
    dataset = loader.get('dataset') if isinstance(loader, dict) else None
    while isinstance(dataset, dict) and 'pipeline' not in dataset:
        inner = dataset.get('dataset')
        if inner is None and dataset.get('datasets'):
            inner = dataset['datasets'][0]
        if inner is None:
            break
        dataset = inner
    return dataset


def _config_dataset_meta(cfg: Config) -> Dict[str, Any]:
    """Classes and palette of the config's test dataset: its class's
    METAINFO, or the dataset.json of an nnU-Net / MSD ``data_root`` when it
    exists here; ACDC's as the last resort."""
    dataset = dataset_cfg(cfg) or {}
    meta = dict(ACDC_METAINFO)
    type_name = dataset.get('type')
    if isinstance(type_name, str):
        from mmseg.registry import DATASETS

        from ideal_mm.datasets.nnunet import dataset_metainfo
        with DefaultScope.overwrite_default_scope(
                cfg.get('default_scope', 'mmseg')):
            cls = DATASETS.get(type_name)
        metainfo = getattr(cls, 'METAINFO', None) if cls else None
        if metainfo:
            meta.update({
                k: metainfo[k]
                for k in ('classes', 'palette') if k in metainfo
            })
        from_json = dataset_metainfo(dict(dataset, type=cls)) if cls else None
        if from_json:
            meta.update(from_json)
    if isinstance(dataset.get('metainfo'), dict):
        meta.update(dataset['metainfo'])
    return meta


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build a segmentor from a config and load a checkpoint (eval mode).

    Like :func:`mmseg.apis.init_model`, with three differences: every
    ``Pretrained`` init_cfg is dropped (a fine-tuning config whose stage-1
    encoder file does not exist here still works), the checkpoint's keys must
    match the model exactly (a :class:`CheckpointError` lists the first
    missing / unexpected ones instead of a silently half-loaded model), and
    ``dataset_meta`` falls back to the config's dataset classes and palette.

    Args:
        config: config file path or :class:`mmengine.Config`.
        checkpoint: ``.pth`` file (mmengine checkpoint or a plain
            ``{'state_dict': ...}``); None keeps the random initialisation.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ...
        cfg_options: overrides merged into the config.

    Returns:
        The model in eval mode on ``device`` with ``model.cfg`` and
        ``model.dataset_meta`` set.
    """
    import ideal_mm
    ideal_mm.register_all_modules()  # a Config object may lack custom_imports
    if isinstance(config, (str, Path)):
        config = load_config(str(config))
    elif isinstance(config, Config):
        config = copy.deepcopy(config)
    else:
        raise TypeError(f'config must be a file name or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    if 'model' not in config:
        raise ConfigError('the config has no `model` dict')
    if str(device).startswith('cuda') and not torch.cuda.is_available():
        raise ConfigError(f'device {device!r} requested but CUDA is not '
                          f'available here; use --device cpu')
    drop_pretrained(config.model)
    init_default_scope(config.get('default_scope', 'mmseg'))
    from mmseg.registry import MODELS
    model = MODELS.build(config.model)

    dataset_meta = None
    if checkpoint is not None:
        state_dict, ckpt = read_checkpoint_state(checkpoint, 'checkpoint')
        check_state_fits(model, state_dict, checkpoint, 'checkpoint')
        load_state_dict(model, state_dict, strict=True)
        meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}
        dataset_meta = meta.get('dataset_meta')
    if not dataset_meta or 'palette' not in dataset_meta:
        dataset_meta = _config_dataset_meta(config)
    model.dataset_meta = dict(dataset_meta)
    model.cfg = config
    model.to(device)
    model.eval()
    return model
