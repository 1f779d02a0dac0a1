"""Where the encoder sits in a model config.

An mmseg segmentor and the pre-trainer have it at ``model.backbone``; a
semi-supervised model built on a student (``SemiSupervisedSegmentor``
subclasses: ``model.segmentor=dict(type='EncoderDecoder', backbone=...)``)
at ``model.segmentor.backbone``. Tools that read or set the encoder's config
(input channels, the pre-trained file, probes, ``--cfg-options``) ask here
instead of assuming one form. Plain dict code (no mmseg import), so every
layer can use it.
"""
from __future__ import annotations

from typing import Any, List, Mapping, Optional, Tuple


def encoder_path(model: Optional[Mapping[str, Any]]) -> str:
    """The dotted key of the encoder config under ``model``:
    ``'segmentor.backbone'`` when the model has a student segmentor with a
    backbone, else ``'backbone'``."""
    segmentor = (model or {}).get('segmentor')
    if isinstance(segmentor, Mapping) and 'backbone' in segmentor:
        return 'segmentor.backbone'
    return 'backbone'


def encoder_config(
        model: Optional[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    """The encoder's config dict under ``model`` (None without one)."""
    node: Any = model or {}
    for key in encoder_path(model).split('.'):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


def head_configs(
        model: Optional[Mapping[str,
                                Any]]) -> List[Tuple[str, Mapping[str, Any]]]:
    """``(dotted key, config)`` of the decode heads under ``model``:
    ``decode_head`` of the model or of its student segmentor, then
    ``decode_head_2`` and the entries of ``extra_heads`` (multi-decoder
    semi-supervised models)."""
    model = model or {}
    heads: List[Tuple[str, Mapping[str, Any]]] = []
    if isinstance(model.get('decode_head'), Mapping):
        heads.append(('decode_head', model['decode_head']))
    segmentor = model.get('segmentor')
    if isinstance(segmentor, Mapping) and \
            isinstance(segmentor.get('decode_head'), Mapping):
        heads.append(('segmentor.decode_head', segmentor['decode_head']))
    if isinstance(model.get('decode_head_2'), Mapping):
        heads.append(('decode_head_2', model['decode_head_2']))
    extra = model.get('extra_heads')
    if isinstance(extra, (list, tuple)):
        heads.extend((f'extra_heads[{i}]', h) for i, h in enumerate(extra)
                     if isinstance(h, Mapping))
    return heads
