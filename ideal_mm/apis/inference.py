"""Inference on NIfTI volumes with a trained ideal_mm / mmseg segmentor.

mmseg's ``init_model`` / ``inference_model`` work on 2D images read from
files; ACDC scans are 3D NIfTI volumes that must be normalised per volume
exactly as the training data was (ideal_mm's volume cache), sliced along Z and
put back on the scanner grid. This module keeps mmseg's approach (model built
from the config, weights through mmengine's ``load_checkpoint`` machinery,
preprocessing from the config's ``test_pipeline`` through
``mmengine.dataset.Compose``, prediction through ``model.test_step``) and adds
the volume handling::

    model = init_model('configs/ideal/....py', 'work_dirs/.../best.pth')
    labels = segment_volume(model, 'patient101_frame01.nii.gz')   # (X, Y, Z) uint8

Axis conventions follow ``docs/data_contract.md``: a NIfTI frame (X, Y, Z) is
processed as (D, H, W) = (Z, X, Y); results come back in (X, Y, Z).
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner.checkpoint import load_state_dict

from ideal_mm.engine.runner_config import (check_state_fits, load_config,
                                           read_checkpoint_state)
from ideal_mm.errors import ConfigError, DataError

__all__ = [
    'ACDC_METAINFO', 'init_model', 'segment_volume', 'load_volume',
    'build_inference_pipeline', 'test_normalize_mode'
]

#: Fallback class names and palette (those of ``ACDCDataset.METAINFO``) when
#: neither the checkpoint nor the config's dataset provides them.
ACDC_METAINFO: Dict[str, Any] = dict(
    classes=('background', 'RV', 'Myo', 'LV'),
    palette=[[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200]])

#: Meta keys every slice dict carries (``docs/data_contract.md``).
SLICE_META_KEYS = ('img_path', 'seg_map_path', 'volume_id', 'slice_idx',
                   'num_slices', 'spacing', 'labelled')

VolumeInput = Union[str, os.PathLike, Any]  # a path or a nibabel image


# --------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------
def _drop_pretrained(obj: Any) -> None:
    """Set every ``init_cfg`` of type ``Pretrained`` (alone or in a list) to
    None, in place: the checkpoint holds all weights, and stage-1 encoder
    files need not exist on the inference machine."""
    if isinstance(obj, dict):
        init_cfg = obj.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            obj['init_cfg'] = None
        elif isinstance(init_cfg, (list, tuple)):
            kept = [c for c in init_cfg
                    if not (isinstance(c, dict) and c.get('type') == 'Pretrained')]
            obj['init_cfg'] = kept or None
        if 'pretrained' in obj and isinstance(obj.get('pretrained'), str):
            obj['pretrained'] = None
        for value in obj.values():
            _drop_pretrained(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _drop_pretrained(value)


def _dataset_cfg(cfg: Config, split: str = 'test') -> Optional[dict]:
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
    dataset = _dataset_cfg(cfg) or {}
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
            meta.update({k: metainfo[k] for k in ('classes', 'palette')
                         if k in metainfo})
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
    _drop_pretrained(config.model)
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


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def test_normalize_mode(cfg: Config) -> str:
    """``cfg.test_dataloader.dataset.normalize`` (default ``'minmax'``)."""
    dataset = _dataset_cfg(cfg) or {}
    return dataset.get('normalize', 'minmax') or 'minmax'


def test_intensity_window(cfg: Config) -> Optional[Tuple[float, float]]:
    """``cfg.test_dataloader.dataset.intensity_window`` (CT), or None."""
    window = (_dataset_cfg(cfg) or {}).get('intensity_window')
    return tuple(window) if window is not None else None


def model_in_channels(model: torch.nn.Module) -> Optional[int]:
    """Input channels of the model's backbone (config ``in_channels``)."""
    cfg = getattr(model, 'cfg', None)
    backbone = (cfg.get('model') or {}).get('backbone') if cfg else None
    value = backbone.get('in_channels') if isinstance(backbone, dict) \
        else None
    return int(value) if isinstance(value, int) else None


def build_inference_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline without its loading transforms.

    The pipeline comes from ``test_dataloader.dataset.pipeline`` (else
    ``cfg.test_pipeline``); transforms whose type starts with ``Load``
    (``LoadACDCSlice``, mmseg's ``LoadImageFromFile`` / ``LoadAnnotations``)
    are removed, because :func:`segment_volume` hands over slices already in
    memory. Everything else (resizing, packing) is exactly as in testing.
    """
    dataset = _dataset_cfg(cfg) or {}
    pipeline = dataset.get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise ConfigError('the config has no test pipeline '
                          '(test_dataloader.dataset.pipeline or test_pipeline)')
    kept = []
    for transform in pipeline:
        type_name = transform.get('type') if isinstance(transform, dict) \
            else None
        if isinstance(type_name, str) and type_name.startswith('Load'):
            continue
        kept.append(copy.deepcopy(transform))
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'mmseg')):
        return Compose(kept)


def load_volume(volume: Union[VolumeInput, Sequence[str]]
                ) -> Tuple[np.ndarray, Tuple[float, float, float], Any, str]:
    """Read a volume (path, nibabel image, or channel files) as (D, H, W[, C]).

    ``volume`` is one NIfTI frame (3D; a 4D file with more than one volume
    on its last axis is read as channels, as MSD stores modalities), a
    nibabel image, or a list of one 3D file per channel (nnU-Net's
    ``<case>_0000.nii.gz``, ``<case>_0001.nii.gz``, ...), which must share
    shape and affine.

    Returns ``(array float32 (D, H, W) or (D, H, W, C), spacing (sz, sx, sy),
    image, name)`` where ``image`` is the (first) nibabel image and ``name``
    the file name without ``.nii[.gz]`` (and without ``_0000`` for channel
    lists; ``'volume'`` for an in-memory image). Bad files raise
    :class:`DataError` naming the file.
    """
    from ideal_mm.datasets.io import FrameFiles, read_case
    if isinstance(volume, (list, tuple)):
        paths = [os.fspath(p) for p in volume]
        if not paths:
            raise DataError('an empty list of channel files was given')
        frame = FrameFiles(volume_id=volume_name(paths[0]), patient_id='',
                           frame=None, frame_number=None, img_file=paths[0],
                           gt_file=None, kind='case', img_files=tuple(paths),
                           num_channels=len(paths))
        array, _, spacing = read_case(frame, False, ('background', ))
        import nibabel as nib
        name = volume_name(paths[0])
        if len(paths) > 1 or name.endswith('_0000'):
            name = name[:-5] if name.endswith('_0000') else name
        return array, tuple(spacing), nib.load(paths[0]), name
    if isinstance(volume, (str, os.PathLike)):
        from ideal_mm.datasets.io import read_nifti_frame
        path = os.fspath(volume)
        channels = _file_channels(path)
        if channels > 1:
            frame = FrameFiles(volume_id=volume_name(path), patient_id='',
                               frame=None, frame_number=None, img_file=path,
                               gt_file=None, kind='case', img_files=(path, ),
                               num_channels=channels)
            array, _, spacing = read_case(frame, False, ('background', ))
            import nibabel as nib
            return array, tuple(spacing), nib.load(path), volume_name(path)
        array, spacing, image = read_nifti_frame(path)
        return array, tuple(spacing), image, volume_name(path)
    if not hasattr(volume, 'dataobj') or not hasattr(volume, 'header'):
        raise TypeError('volume must be a NIfTI path or a nibabel image, got '
                        f'{type(volume).__name__}')
    from ideal_mm.datasets.io import check_image
    data = np.asarray(np.asanyarray(volume.dataobj))
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        data = data[..., None]
    name = volume.get_filename() or 'volume'
    if data.ndim != 3:
        raise DataError(f'{name}: expected a 3D frame (X, Y, Z), got shape '
                        f'{data.shape}; pass a single ED/ES frame')
    zooms = [float(z) for z in volume.header.get_zooms()[:3]]
    zooms += [1.0] * (3 - len(zooms))
    array = check_image(np.ascontiguousarray(np.transpose(data, (2, 0, 1))),
                        name)
    return array, (zooms[2], zooms[0], zooms[1]), volume, volume_name(name)


def _file_channels(path: str) -> int:
    """Channels of a NIfTI file from its header: the 4th axis of a 4D file
    with more than one volume (MSD), else 1."""
    import nibabel as nib
    try:
        shape = nib.load(path).shape
    except Exception:  # read_nifti_frame reports unreadable files
        return 1
    return int(shape[3]) if len(shape) == 4 and shape[3] > 1 else 1


def volume_name(path: str) -> str:
    """File name without the ``.nii`` / ``.nii.gz`` extension."""
    base = os.path.basename(path)
    for ext in ('.nii.gz', '.nii'):
        if base.endswith(ext):
            return base[:-len(ext)]
    return base


# --------------------------------------------------------------------------
# prediction
# --------------------------------------------------------------------------
def _outputs_are_probabilities(model: torch.nn.Module) -> bool:
    """True when ``seg_logits`` already holds probabilities.

    ``BiConsistencySemiSupModel`` with ``semi_test_cfg.predict_on='mean'``
    averages the two streams' softmax maps.
    """
    semi = getattr(model, 'semi_test_cfg', None)
    return isinstance(semi, dict) and semi.get('predict_on') == 'mean'


def _slice_dicts(vol: np.ndarray, spacing: Sequence[float], name: str,
                 img_path: Optional[str]) -> List[dict]:
    depth = vol.shape[0]
    items = []
    for k in range(depth):
        img = np.ascontiguousarray(vol[k], dtype=np.float32)
        items.append(
            dict(img=img, ori_shape=img.shape[:2], img_shape=img.shape[:2],
                 img_path=img_path, seg_map_path=None, volume_id=name,
                 slice_idx=k, num_slices=depth,
                 spacing=tuple(float(s) for s in spacing), labelled=False,
                 reduce_zero_label=False, seg_fields=[]))
    return items


@torch.no_grad()
def _predict_probs(model: torch.nn.Module, pipeline: Compose, vol: np.ndarray,
                   spacing: Sequence[float], name: str,
                   img_path: Optional[str], batch_size: int) -> np.ndarray:
    """Class probabilities (C, D, H, W) of a normalised (D, H, W) volume."""
    are_probs = _outputs_are_probabilities(model)
    slices = _slice_dicts(vol, spacing, name, img_path)
    out: List[np.ndarray] = []
    for start in range(0, len(slices), batch_size):
        batch = [pipeline(dict(item)) for item in
                 slices[start:start + batch_size]]
        results = model.test_step(pseudo_collate(batch))
        for result in results:
            logits = result.seg_logits.data.float()
            if tuple(logits.shape[-2:]) != tuple(vol.shape[1:3]):
                raise ConfigError(
                    f'the model returned {tuple(logits.shape[-2:])} maps for '
                    f'{vol.shape[1:3]} slices; the test pipeline must keep '
                    f'ori_shape so that predictions return to the slice grid')
            probs = logits if are_probs else logits.softmax(dim=0)
            out.append(probs.cpu().numpy())
    return np.stack(out, axis=1).astype(np.float32)


def segment_volume(model: torch.nn.Module,
                   volume: Union[VolumeInput, Sequence[str]],
                   batch_size: int = 16,
                   tta: bool = False,
                   return_probs: bool = False
                   ) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """Segment a 3D NIfTI frame slice by slice.

    Steps: read the frame (or the channel files, see :func:`load_volume`),
    transpose (X, Y, Z) -> (D, H, W), check the channel count against the
    model's ``backbone.in_channels``, normalise it per volume and channel with
    the test dataset's mode (``normalize_image``: ``normalize`` and
    ``intensity_window``), run the
    config's test pipeline without its loading transform on every slice,
    predict batches through ``model.test_step`` (data preprocessor +
    predict, logits resized back to the slice grid), and take
    ``argmax_c p_c`` of the softmax probabilities.

    With ``tta`` the probabilities are averaged over three inputs:
    ``p = (p(x) + flip_W(p(flip_W(x))) + flip_H(p(flip_H(x)))) / 3``
    (identity, horizontal and vertical flip of each slice).

    Args:
        model: from :func:`init_model` (needs ``model.cfg``).
        volume: NIfTI path or nibabel image of one frame (X, Y, Z), a 4D
            multi-channel file (X, Y, Z, C), or a list of channel files.
        batch_size: slices per forward pass.
        tta: flip test-time augmentation.
        return_probs: also return the probabilities.

    Returns:
        uint8 labels with the input's shape and axis order (X, Y, Z), and
        with ``return_probs`` also float32 probabilities (C, X, Y, Z).
    """
    if batch_size < 1:
        raise ConfigError(f'batch_size must be >= 1, got {batch_size}')
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise ConfigError('model has no .cfg; build it with '
                          'ideal_mm.apis.init_model(config, checkpoint)')
    from ideal_mm.datasets.volume_cache import normalize_image
    array, spacing, image, name = load_volume(volume)
    channels = array.shape[3] if array.ndim == 4 else 1
    expected = model_in_channels(model)
    if expected is not None and expected != channels:
        source = image.get_filename() if hasattr(image, 'get_filename') \
            else name
        raise DataError(
            f'{source}: {channels} image channel(s) but the model takes '
            f'{expected} (model.backbone.in_channels); give every channel '
            '(<case>_0000, <case>_0001, ...) or use a model trained on this '
            'many channels')
    vol = normalize_image(array, test_normalize_mode(cfg),
                          test_intensity_window(cfg))
    pipeline = build_inference_pipeline(cfg)
    img_path = image.get_filename() if hasattr(image, 'get_filename') \
        else None
    was_training = model.training
    model.eval()
    try:
        def run(v: np.ndarray) -> np.ndarray:
            return _predict_probs(model, pipeline, np.ascontiguousarray(v),
                                  spacing, name, img_path, batch_size)

        probs = run(vol)  # (C, D, H, W)
        if tta:
            probs = probs + run(vol[:, :, ::-1])[..., ::-1]
            probs = probs + run(vol[:, ::-1, :])[:, :, ::-1, :]
            probs = probs / 3.0
    finally:
        model.train(was_training)
    labels = probs.argmax(axis=0).astype(np.uint8)  # (D, H, W)
    labels = np.ascontiguousarray(np.transpose(labels, (1, 2, 0)))
    shape = tuple(image.shape)
    if channels > 1 and len(shape) == 4:  # one 4D multi-channel file
        shape = shape[:3]
    labels = labels.reshape(shape)
    if not return_probs:
        return labels
    probs = np.ascontiguousarray(np.transpose(probs, (0, 2, 3, 1)),
                                 dtype=np.float32)
    return labels, probs
