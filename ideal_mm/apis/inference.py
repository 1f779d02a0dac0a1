"""Inference on NIfTI volumes with a trained ideal_mm / mmseg segmentor.

mmseg's ``init_model`` / ``inference_model`` work on 2D images read from
files; ACDC scans are 3D NIfTI volumes that must be normalised per volume
exactly as the training data was (ideal_mm's volume cache), sliced along Z and
put back on the scanner grid. This module keeps mmseg's approach (model built
from the config, weights through mmengine's ``load_checkpoint`` machinery,
preprocessing from the config's ``test_pipeline`` through
``mmengine.dataset.Compose``, prediction through ``model.test_step``) and adds
the volume handling. The model is built by :func:`.model.init_model`, volumes
are read by :func:`.volume_io.load_volume` (both re-exported here); this
module is the prediction::

    model = init_model('configs/ideal/....py', 'work_dirs/.../best.pth')
    # (X, Y, Z) uint8
    labels = segment_volume(model, 'patient101_frame01.nii.gz')

Axis conventions follow ``docs/data_contract.md``: a NIfTI frame (X, Y, Z) is
processed as (D, H, W) = (Z, X, Y); results come back in (X, Y, Z).
"""
from __future__ import annotations

import copy
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope

from ideal_mm.errors import ConfigError, DataError
from ideal_mm.model_config import encoder_config
from .model import ACDC_METAINFO, dataset_cfg, init_model
from .volume_io import VolumeInput, load_volume, volume_name

__all__ = [
    'ACDC_METAINFO', 'init_model', 'segment_volume', 'load_volume',
    'volume_name', 'build_inference_pipeline', 'test_normalize_mode'
]


# --------------------------------------------------------------------------
# the config's test-time data settings
# --------------------------------------------------------------------------
def test_normalize_mode(cfg: Config) -> str:
    """``cfg.test_dataloader.dataset.normalize`` (default ``'minmax'``)."""
    dataset = dataset_cfg(cfg) or {}
    return dataset.get('normalize', 'minmax') or 'minmax'


def test_intensity_window(cfg: Config) -> Optional[Tuple[float, float]]:
    """``cfg.test_dataloader.dataset.intensity_window`` (CT), or None."""
    window = (dataset_cfg(cfg) or {}).get('intensity_window')
    return tuple(window) if window is not None else None


def model_in_channels(model: torch.nn.Module) -> Optional[int]:
    """Input channels of the model's backbone (config ``in_channels``)."""
    cfg = getattr(model, 'cfg', None)
    backbone = encoder_config(cfg.get('model')) if cfg else None
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
    dataset = dataset_cfg(cfg) or {}
    pipeline = dataset.get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise ConfigError(
            'the config has no test pipeline '
            '(test_dataloader.dataset.pipeline or test_pipeline)')
    kept = []
    for transform in pipeline:
        type_name = transform.get('type') if isinstance(transform, dict) \
            else None
        if isinstance(type_name, str) and type_name.startswith('Load'):
            continue
        kept.append(copy.deepcopy(transform))
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmseg')):
        return Compose(kept)


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
            dict(
                img=img,
                ori_shape=img.shape[:2],
                img_shape=img.shape[:2],
                img_path=img_path,
                seg_map_path=None,
                volume_id=name,
                slice_idx=k,
                num_slices=depth,
                spacing=tuple(float(s) for s in spacing),
                labelled=False,
                reduce_zero_label=False,
                seg_fields=[]))
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
        batch = [
            pipeline(dict(item)) for item in slices[start:start + batch_size]
        ]
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


def segment_volume(
    model: torch.nn.Module,
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
            f'{expected} (the encoder config\'s in_channels); give every '
            'channel (<case>_0000, <case>_0001, ...) or use a model trained '
            'on this many channels')
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
    probs = np.ascontiguousarray(
        np.transpose(probs, (0, 2, 3, 1)), dtype=np.float32)
    return labels, probs
