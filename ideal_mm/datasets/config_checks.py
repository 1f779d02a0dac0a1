"""Start-up checks of a config against its data: channels and classes.

``ideal_mm.engine.runner_config.check_num_classes`` compares heads with a
dataset class's ``METAINFO``; nnU-Net / Decathlon data sets have their
classes and channels in ``dataset.json`` instead, so this module reads them
there and compares them with the encoder's ``in_channels`` (``model.backbone``
or ``model.segmentor.backbone``) and the heads'
``num_classes`` before anything is built (a mismatched ``in_channels``
otherwise fails inside the first convolution with a shape error).
"""
from __future__ import annotations

from typing import Any, Iterator, Optional, Tuple

from ideal_mm.errors import ConfigError
from ideal_mm.model_config import encoder_config, encoder_path, head_configs

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _datasets(dataset: Any, key: str) -> Iterator[Tuple[str, dict]]:
    if not isinstance(dataset, dict):
        return
    inner = dataset.get('dataset')
    if isinstance(inner, dict):
        yield from _datasets(inner, key + '.dataset')
        return
    many = dataset.get('datasets')
    if isinstance(many, (list, tuple)):
        for i, d in enumerate(many):
            yield from _datasets(d, f'{key}.datasets[{i}]')
        return
    yield key, dataset


def _model_in_channels(model: Any) -> Optional[int]:
    backbone = encoder_config(model) if isinstance(model, dict) else None
    value = backbone.get('in_channels') if isinstance(backbone, dict) \
        else None
    return value if isinstance(value, int) else None


def _head_classes(model: Any) -> Optional[Tuple[str, int]]:
    if not isinstance(model, dict):
        return None
    for key, head in head_configs(model):
        if isinstance(head.get('num_classes'), int):
            return f'model.{key}.num_classes', head['num_classes']
    return None


def check_dataset_config(cfg: Any) -> None:
    """Raise ConfigError when a dataset's channels or classes (from its
    dataset.json) differ from the encoder's ``in_channels`` or the heads'
    ``num_classes``. Data sets whose dataset.json is not on this machine are
    skipped (the dataset raises its own error when built)."""
    from mmengine.registry import DefaultScope

    from .nnunet import dataset_channels, dataset_metainfo
    model = cfg.get('model')
    in_channels = _model_in_channels(model)
    head = _head_classes(model)
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmseg')):
        for loader in LOADERS:
            datasets = _datasets((cfg.get(loader) or {}).get('dataset'),
                                 loader + '.dataset')
            for key, dataset in datasets:
                channels = dataset_channels(dataset)
                if in_channels is not None and channels is not None and \
                        channels != in_channels:
                    raise ConfigError(
                        f'model.{encoder_path(model)}.in_channels='
                        f'{in_channels} but {key} '
                        f'({dataset.get("type")} at '
                        f'{dataset.get("data_root")})'
                        f' has {channels} image channel(s); set '
                        f'in_channels={channels} on the backbone (and on a '
                        'pre-trained encoder) or give the data set '
                        f'{in_channels} channel(s)')
                meta = dataset_metainfo(dataset)
                if head is not None and meta is not None and \
                        len(meta['classes']) != head[1]:
                    raise ConfigError(
                        f'{head[0]}={head[1]} but {key} has '
                        f'{len(meta["classes"])} classes {meta["classes"]} '
                        f'(dataset.json); set num_classes='
                        f'{len(meta["classes"])} on every decoder')
