"""The encoder probes' data: labelled train slices and whole evaluation
volumes.

:func:`load_probe_data` builds both sets from a fine-tuning or supervised
config through its evaluation pipeline (the method is described in
:mod:`ideal_mm.evaluation.probe`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np
import torch

from ..errors import ConfigError, DataError

#: Meta keys every probe slice needs (from PackSegInputs' meta_keys).
PROBE_META_KEYS = ('volume_id', 'slice_idx', 'num_slices', 'spacing',
                   'seg_map_path', 'ori_shape')


def maybe_tqdm(iterable: Iterable, enabled: bool, **kwargs: Any) -> Iterable:
    """A tqdm bar over ``iterable`` when ``enabled`` (warnings and log lines
    through ``tqdm.write``: :func:`ideal_mm.progress.progress_bar`), else
    ``iterable``."""
    if not enabled:
        return iterable
    from ideal_mm.progress import progress_bar
    return progress_bar(iterable, **kwargs)


@dataclass
class ProbeSlices:
    """Slices at network size with their metainfo.

    Attributes:
        images: (N, C, H, W) float32 network inputs (the pipeline's output,
            before the data preprocessor's normalisation).
        labels: (N, H, W) int64 label maps at network size, or None.
        metas: per slice ``volume_id``, ``slice_idx``, ``num_slices``,
            ``spacing`` (sz, sx, sy), ``seg_map_path`` and ``ori_shape``
            (H, W).
    """

    images: torch.Tensor
    labels: Optional[torch.Tensor]
    metas: List[Dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass
class ProbeData:
    """What both probes need: labelled train slices and labelled evaluation
    slices.

    Attributes:
        train: the labelled slices of the train dataset (``labels`` set).
        test: every slice of the evaluation split (whole volumes).
        class_names: foreground class names, label values 1, 2, ...
        mean, std: input normalisation of the segmentor's data preprocessor
            (None: none), applied before the encoder.
        split: name of the evaluation split ('test' or 'val').
    """

    train: ProbeSlices
    test: ProbeSlices
    class_names: Tuple[str, ...]
    mean: Optional[torch.Tensor] = None
    std: Optional[torch.Tensor] = None
    split: str = 'test'

    @property
    def num_classes(self) -> int:
        """Classes including the background (label 0)."""
        return len(self.class_names) + 1


def _cfg_get(cfg: Any, key: str) -> Any:
    """``cfg[key]`` for Config / dict, None when absent."""
    try:
        return cfg.get(key)
    except AttributeError:
        return None


def _input_norm(
        cfg: Any) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
    """mean / std of ``model.data_preprocessor`` as (C, 1, 1) tensors (None:
    none)."""
    model = _cfg_get(cfg, 'model') or {}
    pre = _cfg_get(model, 'data_preprocessor') or {}
    mean, std = _cfg_get(pre, 'mean'), _cfg_get(pre, 'std')
    if mean is None or std is None:
        return None, None
    mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1)
    if bool((std_t <= 0).any()):
        raise ConfigError(f'model.data_preprocessor.std={std!r} must be > 0')
    return mean_t, std_t


def _dataset_cfg(cfg: Any, key: str) -> dict:
    loader = _cfg_get(cfg, key)
    dataset = _cfg_get(loader, 'dataset') if loader else None
    if not dataset:
        raise ConfigError(
            f'{key}.dataset is not set in the probe config; give a '
            'fine-tuning or supervised config (with train and test/val '
            'dataloaders)')
    return copy.deepcopy(dict(dataset))


def _load_slices(dataset_cfg: dict, pipeline: list, labelled_only: bool,
                 key: str, max_slices: Optional[int],
                 progress: bool) -> Tuple[ProbeSlices, Any]:
    """Build ``dataset_cfg`` with ``pipeline`` and collect its (labelled)
    slices."""
    from mmseg.registry import DATASETS
    dataset_cfg = dict(dataset_cfg, pipeline=copy.deepcopy(pipeline))
    dataset_cfg.pop('indices', None)
    if dataset_cfg.get('type') == 'ACDCDataset':
        dataset_cfg.setdefault('progress', progress)
        if (labelled_only and dataset_cfg.get('subset') == 'all'
                and dataset_cfg.get('label_budget') is not None):
            # the same labelled patients, without listing the unlabelled ones
            dataset_cfg['subset'] = 'labelled'
    dataset = DATASETS.build(dataset_cfg)
    indices = list(range(len(dataset)))
    if labelled_only:
        indices = [
            i for i in indices if dataset.get_data_info(i).get('seg_map_path')
        ]
        if not indices:
            raise DataError(
                f'{key}: no labelled slice (every seg_map_path is None); the '
                'linear probe needs labelled train patients (set label_budget)'
            )
    if max_slices is not None and len(indices) > max_slices:
        pick = np.linspace(0, len(indices) - 1, max_slices).round().astype(int)
        indices = [indices[i] for i in pick]
    images, labels, metas = [], [], []
    for i in maybe_tqdm(
            indices,
            progress,
            desc=f'probe: load {key}',
            unit='slice',
            leave=False):
        sample = dataset[i]
        inputs = sample['inputs']
        ds = sample['data_samples']
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3:
            raise ConfigError(
                f'{key}: the pipeline must end with PackSegInputs giving (C, '
                f'H, W) inputs, got {type(inputs).__name__}')
        meta = dict(ds.metainfo)
        missing = [k for k in PROBE_META_KEYS if k not in meta]
        if missing:
            raise ConfigError(f'{key}: metainfo lacks {missing}; add them to '
                              'PackSegInputs\' meta_keys of the test pipeline '
                              '(docs/data_contract.md)')
        gt = getattr(ds, 'gt_sem_seg', None) if 'gt_sem_seg' in ds else None
        if gt is None and labelled_only:
            raise DataError(
                f'{key}: slice '
                f'{meta.get("volume_id")}[{meta.get("slice_idx")}] has no '
                'label map; the probe needs the test pipeline to load labels '
                '(LoadACDCSlice with_label=True)')
        images.append(inputs.float())
        if gt is not None:
            labels.append(gt.data.reshape(inputs.shape[-2:]).long())
        metas.append({k: meta[k] for k in PROBE_META_KEYS})
    shapes = {tuple(i.shape) for i in images}
    if len(shapes) != 1:
        raise ConfigError(
            f'{key}: slices of different sizes {sorted(shapes)}; the probe '
            'needs a test pipeline with a fixed Resize')
    stacked = torch.stack(labels) if len(labels) == len(images) else None
    return ProbeSlices(torch.stack(images), stacked, metas), dataset


def load_probe_data(cfg: Any,
                    split: str = 'test',
                    max_train_slices: Optional[int] = None,
                    progress: bool = True) -> ProbeData:
    """The probe's data from a fine-tuning or supervised config.

    Train: the labelled slices (``seg_map_path`` set) of
    ``train_dataloader.dataset``; evaluation: every slice of
    ``<split>_dataloader.dataset``. Both go through the *evaluation*
    dataloader's pipeline (no augmentation; Resize to network size), so it
    must end with PackSegInputs whose meta_keys hold :data:`PROBE_META_KEYS`.

    Args:
        cfg: an mmengine Config or a dict with ``train_dataloader`` and
            ``<split>_dataloader`` (and optionally ``model.data_preprocessor``
            for the input mean / std).
        split: 'test' or 'val'.
        max_train_slices: keep at most this many train slices (evenly spaced).
        progress: show tqdm bars.
    """
    from mmengine.registry import init_default_scope
    if split not in ('test', 'val'):
        raise ConfigError(f"probe split={split!r} must be 'test' or 'val'")
    init_default_scope(_cfg_get(cfg, 'default_scope') or 'mmseg')
    eval_key = f'{split}_dataloader'
    eval_cfg = _dataset_cfg(cfg, eval_key)
    train_cfg = _dataset_cfg(cfg, 'train_dataloader')
    pipeline = eval_cfg.get('pipeline')
    if not pipeline:
        raise ConfigError(
            f'{eval_key}.dataset.pipeline is not set in the probe config')
    train, _ = _load_slices(train_cfg, pipeline, True,
                            'train_dataloader.dataset', max_train_slices,
                            progress)
    test, dataset = _load_slices(eval_cfg, pipeline, False,
                                 f'{eval_key}.dataset', None, progress)
    if train.images.shape[1:] != test.images.shape[1:]:
        raise ConfigError(
            f'train slices {tuple(train.images.shape[1:])} and {split} slices '
            f'{tuple(test.images.shape[1:])} differ in size after the pipeline'
        )
    classes = tuple(getattr(dataset, 'metainfo', {}).get('classes') or ())
    if len(classes) < 2:
        raise ConfigError(
            f'{eval_key}.dataset has no class names in its metainfo')
    mean, std = _input_norm(cfg)
    return ProbeData(train, test, tuple(str(c) for c in classes[1:]), mean,
                     std, split)
