"""Where the cells of the pre-trainer's embedding grid sit in the view.

The dense head's grid is the finest backbone level it reads; its geometry
comes from the table of :mod:`ideal_mm.geometry`, the gradient-centroid probe
(on an initialised copy of the backbone in training mode; every failure of
it is a ConfigError naming ``model.cell_geometry``), or the config, and is
logged with a warning for levels the head's resizing shifts by more than
half a pixel.
"""
from __future__ import annotations

import logging
from typing import Dict, Optional, Union

import torch.nn as nn
from mmengine.logging import print_log

from ideal_mm.errors import ConfigError
from ideal_mm.geometry import (CellGeometry, CellGeometryProbeError,
                               declared_cell_geometry, probe_cell_geometry)

CellGeometryCfg = Optional[Union[str, Dict[str, object]]]


def resolve_cell_geometry(backbone: nn.Module, proj_head: nn.Module,
                          cfg: CellGeometryCfg) -> Optional[CellGeometry]:
    """The geometry of ``proj_head``'s embedding grid over ``backbone``, logged
    once.

    ``cfg`` is ``model.cell_geometry`` of :class:`~.dense_pretrainer.
    DenseContrastivePretrainer` (its docstring): 'auto' / None, 'table',
    'probe', 'centre-aligned' (returns None) or dict(stride=..., offset=...).
    """
    key = 'model.cell_geometry'
    name = type(backbone).__name__
    if cfg == 'centre-aligned':
        print_log(
            f'DenseContrastivePretrainer: {key}=\'centre-aligned\''
            f': embedding cells split the view equally, whatever '
            f'the {name} backbone does',
            logger='current',
            level=logging.WARNING)
        return None
    if isinstance(cfg, dict):
        geom = CellGeometry.from_config(cfg, key)
        print_log(
            f'DenseContrastivePretrainer: embedding cells of the '
            f'{name} backbone: {geom}',
            logger='current')
        return geom
    mode = 'auto' if cfg is None else cfg
    if mode not in ('auto', 'table', 'probe'):
        raise ConfigError(
            f"{key} must be 'auto', 'table', 'probe', 'centre-aligned' or "
            f'dict(stride=..., offset=...), got {cfg!r}')
    in_index = getattr(proj_head, 'in_index', -1)
    levels = [in_index] if isinstance(in_index, int) else list(in_index)
    per_level: Dict[int, CellGeometry] = {}
    if mode != 'probe':
        declared = [
            declared_cell_geometry(backbone, level) for level in levels
        ]
        if all(g is not None for g in declared):
            per_level = dict(zip(levels, declared))  # type: ignore
            mode = 'table'
        elif mode == 'table':
            raise ConfigError(
                f"{key}='table' but the backbone {name} is not in the "
                f'table of ideal_mm.geometry (UNetEncoder, ResNet and '
                f'subclasses, MixVisionTransformer, VisionTransformer, '
                f"BEiT, MAE, SwinTransformer); use 'probe' or set "
                f'{key}=dict(stride=..., offset=...) (view pixels: cell '
                f'(i, j) is centred at (offset + stride * i, offset + '
                f'stride * j))')
    if mode != 'table':
        try:
            per_level = probe_cell_geometry(backbone, levels)
        except ConfigError as err:  # levels that do not fit the backbone
            raise ConfigError(
                f'{key}: cannot probe proj_head.in_index={in_index!r}: '
                f'{err}; fix in_index, or set {key}=dict(stride=..., '
                f'offset=...)') from err
        except CellGeometryProbeError as err:
            raise ConfigError(
                f'{key}: the gradient probe could not measure the cell '
                f'geometry of backbone {name} ({err}), and the table of '
                f'ideal_mm.geometry does not declare it; set '
                f'{key}=dict(stride=..., offset=...) (view pixels: cell '
                f'(i, j) of the embedding grid is centred at (offset + '
                f'stride * i, offset + stride * j))') from err
    # the head's grid is its finest level; it resizes the others to it
    finest = min(
        levels,
        key=lambda lv: per_level[lv].stride[0] * per_level[lv].stride[1])
    geom = per_level[finest]
    align_corners = bool(getattr(proj_head, 'align_corners', False))
    for level in levels:
        other = per_level[level]
        factor = tuple(o / g for o, g in zip(other.stride, geom.stride))
        resized = other.resampled(factor, align_corners)  # type: ignore
        error = resized.offset_error(geom)
        if error > 0.5:
            print_log(
                f'DenseContrastivePretrainer: backbone level {level} '
                f'({other}) lands {error:g} px away from the embedding '
                f'grid (level {finest}) after the dense head resizes '
                f'it; its features describe points shifted by that much',
                logger='current',
                level=logging.WARNING)
    print_log(
        f'DenseContrastivePretrainer: embedding cells of the {name} '
        f'backbone (level {finest} of in_index={levels}): cell (i, j) is '
        f'centred at view pixel (offset + stride * i, offset + stride * '
        f'j), {geom}',
        logger='current')
    return geom
