"""A training config prepared for timing, and a synthetic batch from it."""
from __future__ import annotations

import copy
import inspect
from typing import Any, Iterator, Optional, Sequence, Tuple

from ...errors import ConfigError
from ...model_config import head_configs
from ..config_edits import load_config, weights_from_checkpoint
from ..config_walk import dataloader_datasets

#: mmseg transforms that fix the output size, and the key that holds it
#: (``Resize.scale`` is (w, h), ``RandomCrop.crop_size`` (h, w)). ideal_mm's
#: resizing transforms are found by their ``out_size`` argument ((h, w) or
#: one int) instead of by name.
MMSEG_SIZE_KEYS = {'Resize': 'scale', 'RandomCrop': 'crop_size'}
OUT_SIZE = 'out_size'
LOAD_PREFIX = 'Load'


def train_datasets(cfg: Any) -> Iterator[dict]:
    """Every dataset dict with a pipeline of ``cfg.train_dataloader``."""
    for ds in dataloader_datasets(cfg.train_dataloader):
        if 'pipeline' in ds:
            yield ds


def _out_size_default(kind: Any) -> Optional[Any]:
    """The ``out_size`` default of a registered transform that has one,
    ``inspect.Parameter.empty`` when it has no default, None without it."""
    from mmseg.registry import TRANSFORMS
    cls = TRANSFORMS.get(kind) if isinstance(kind, str) else kind
    if not inspect.isclass(cls):
        return None
    param = inspect.signature(cls.__init__).parameters.get(OUT_SIZE)
    return None if param is None else param.default


def pipeline_crop(pipeline: Sequence[dict]) -> Optional[Tuple[int, int]]:
    """Output (h, w) of a train pipeline, from its first resizing transform."""
    for t in pipeline:
        kind = t.get('type')
        default = _out_size_default(kind)
        if default is not None:
            size = t.get(OUT_SIZE, default)
            return (size, size) if isinstance(size, int) else tuple(size)
        key = MMSEG_SIZE_KEYS.get(kind)
        if key is not None and t.get(key) is not None:
            if key == 'scale':
                w, h = t[key]
                return int(h), int(w)
            return tuple(t[key])
    return None


def set_pipeline_crop(pipeline: Sequence[dict], hw: Tuple[int, int]) -> None:
    """Make every resizing / cropping transform of ``pipeline`` output hw."""
    h, w = hw
    for t in pipeline:
        kind = t.get('type')
        if _out_size_default(kind) is not None:
            t[OUT_SIZE] = (h, w)
        elif MMSEG_SIZE_KEYS.get(kind) == 'scale':
            t['scale'] = (w, h)
            t['keep_ratio'] = False
        elif MMSEG_SIZE_KEYS.get(kind) == 'crop_size':
            t['crop_size'] = (h, w)


def prepare_config(config: str,
                   cfg_options: Optional[dict] = None,
                   batch_size: Optional[int] = None,
                   num_workers: Optional[int] = None,
                   crop: Optional[Tuple[int, int]] = None) -> Any:
    """Load a training config with random weights and the given overrides
    of the train batch size, DataLoader workers and pipeline output size."""
    cfg = load_config(config, cfg_options)
    for key in ('model', 'train_dataloader', 'optim_wrapper'):
        if key not in cfg or cfg[key] is None:
            raise ConfigError(f'{config}: no `{key}`; the benchmark '
                              'needs a training config')
    # random weights: stage-1 encoder files need not exist here
    weights_from_checkpoint(cfg)
    loader = cfg.train_dataloader
    if batch_size is not None:
        loader.batch_size = batch_size
        sampler = loader.get('sampler') or {}
        if 'batch_size' in sampler:
            sampler['batch_size'] = batch_size
    if num_workers is not None:
        loader.num_workers = num_workers
    if loader.get('num_workers', 0) == 0:
        loader.persistent_workers = False
    if crop is not None:
        for ds in train_datasets(cfg):
            set_pipeline_crop(ds['pipeline'], tuple(crop))
    return cfg


def config_crop(cfg: Any) -> Tuple[int, int]:
    """The train crop (h, w): from the train pipeline, else ``crop_size``."""
    for ds in train_datasets(cfg):
        crop = pipeline_crop(ds['pipeline'])
        if crop is not None:
            return crop
    size = cfg.get('crop_size', (256, 256))
    return tuple(size)


class _OnePerSource:
    """A stand-in ConcatDataset with one sample in each of n sources."""

    def __init__(self, sources: int) -> None:
        self.cumulative_sizes = list(range(1, sources + 1))

    def __len__(self) -> int:
        return len(self.cumulative_sizes)


def labelled_count(cfg: Any, batch_size: int) -> int:
    """Labelled samples per batch: what the config's multi-source sampler
    gives its first source (the sampler's own ``num_per_source``), else all.
    """
    sampler = cfg.train_dataloader.get('sampler') or {}
    ratio = sampler.get('source_ratio')
    if not ratio:
        return batch_size
    from mmseg.registry import DATA_SAMPLERS
    built = DATA_SAMPLERS.build(
        dict(
            copy.deepcopy(sampler),
            dataset=_OnePerSource(len(ratio)),
            batch_size=batch_size,
            seed=0,
            rank=0,
            world_size=1))
    return int(built.num_per_source[0])


def num_classes(cfg: Any) -> int:
    """Number of classes from the config (default 4, ACDC)."""
    if isinstance(cfg.get('num_classes'), int):
        return cfg.num_classes
    for _, head in head_configs(cfg.model):
        if 'num_classes' in head:
            return int(head['num_classes'])
    return 4


def synthetic_batch(cfg: Any,
                    batch_size: int,
                    crop: Tuple[int, int],
                    seed: int = 0) -> dict:
    """A collated batch made by the config's train pipeline from random slices.

    The loading transforms are skipped; each slice is a smooth random
    float32 (h, w) image in [0, 1] with a random label map of the config's
    classes. The first :func:`labelled_count` samples are labelled (have a
    label map), the rest are not, as the semi-supervised sampler does.
    """
    import numpy as np
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import FUNCTIONS
    ds = next(train_datasets(cfg), None)
    pipeline = [
        t for t in (ds['pipeline'] if ds else [])
        if not str(t.get('type', '')).startswith(LOAD_PREFIX)
    ]
    transform = Compose(copy.deepcopy(pipeline))
    rng = np.random.default_rng(seed)
    h, w = crop
    n_lab = labelled_count(cfg, batch_size)
    classes = num_classes(cfg)
    items = []
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(batch_size):
        fy, fx = rng.uniform(0.02, 0.2, 2)
        img = (0.5 + 0.25 * np.sin(fy * yy) * np.cos(fx * xx) +
               0.1 * rng.random((h, w))).astype(np.float32)
        labelled = i < n_lab
        item = dict(
            img=img,
            img_shape=(h, w),
            ori_shape=(h, w),
            img_path=f'synthetic_{i}',
            slice_idx=0,
            num_slices=1,
            volume_id=f'synthetic_{i}',
            patient_id='synthetic',
            frame='ED',
            spacing=(10.0, 1.5, 1.5),
            labelled=labelled,
            reduce_zero_label=False,
            seg_fields=[],
            seg_map_path=None)
        if labelled:
            item['gt_seg_map'] = rng.integers(0, classes,
                                              (h, w)).astype(np.uint8)
            item['seg_fields'] = ['gt_seg_map']
            item['seg_map_path'] = f'synthetic_{i}'
        items.append(transform(item))
    collate_cfg = cfg.train_dataloader.get('collate_fn')
    collate = pseudo_collate
    if isinstance(collate_cfg, dict):
        collate = FUNCTIONS.get(collate_cfg['type'])
    return collate(items)
