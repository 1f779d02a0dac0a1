"""``LoadACDCSlice``: one slice from a memory-mapped cached volume (any
``VolumeSegDataset``: ACDC, nnU-Net, MSD; the name is kept, it is public).

mmseg's loaders read whole image files (``LoadImageFromFile``) or whole
biomedical volumes (``LoadBiomedicalImageFromFile``, which decompresses a
NIfTI per sample); ACDC samples are single slices of cached ``.npy`` volumes,
so this loader maps the volume and copies one slice.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ideal_mm.errors import ConfigError, DataError


@TRANSFORMS.register_module()
class LoadACDCSlice(BaseTransform):
    """Load slice ``slice_idx`` of ``img_path`` (and of ``seg_map_path``).

    Required keys: ``img_path``, ``slice_idx``; ``seg_map_path`` (may be
    None). Added keys: ``img`` (H, W) float32, ``gt_seg_map`` (H, W) uint8 and
    ``seg_fields`` += ``['gt_seg_map']`` when ``with_label`` and
    ``seg_map_path`` is set, ``ori_shape`` and ``img_shape`` (H, W); a
    multi-channel volume (D, H, W, C) gives ``img`` (H, W, C), mmseg's image
    layout; and
    ``oracle_seg_map`` (also in ``seg_fields``, so geometric transforms warp
    it) when the entry has ``oracle_seg_map_path``: the hidden label of a
    slice that training treats as unlabelled (``ACDCDataset(oracle_labels=
    True)``), which ``PackSemiSegInputs`` packs for logging only.

    Volumes are opened with ``np.load(mmap_mode='r')`` and kept in a small
    per-process LRU of open memory maps (each data loader worker has its own
    copy of the transform), so a slice costs one page-cache read.

    Args:
        with_label: load the label slice when the entry has one. False never
            opens a label file (unlabelled pipelines).
        max_open: how many volumes (image or label) stay mapped.
    """

    def __init__(self, with_label: bool = True, max_open: int = 512) -> None:
        if not isinstance(max_open, int) or max_open < 1:
            raise ConfigError(
                f'LoadACDCSlice.max_open={max_open!r} must be an '
                'int >= 1')
        self.with_label = bool(with_label)
        self.max_open = max_open
        self._maps: 'OrderedDict[str, np.ndarray]' = OrderedDict()

    def __getstate__(self) -> dict:
        # Never pickle open memory maps (spawned workers would copy whole
        # volumes); each process opens its own.
        state = self.__dict__.copy()
        state['_maps'] = OrderedDict()
        return state

    def _volume(self, path: str) -> np.ndarray:
        vol = self._maps.get(path)
        if vol is not None:
            self._maps.move_to_end(path)
            return vol
        try:
            vol = np.load(path, mmap_mode='r', allow_pickle=False)
        except (OSError, ValueError) as err:
            raise DataError(
                f'{path}: cannot read cached volume ({err}); delete the cache '
                'folder (or its .json for this volume) so ACDCDataset '
                'rebuilds it') from err
        self._maps[path] = vol
        while len(self._maps) > self.max_open:
            self._maps.popitem(last=False)
        return vol

    def _slice(self, path: str, k: int, dtype: type) -> np.ndarray:
        vol = self._volume(path)
        if vol.ndim not in (3, 4) or not 0 <= k < vol.shape[0]:
            raise DataError(
                f'{path}: slice {k} not in volume of shape {vol.shape}; the '
                'cache is stale - delete it so ACDCDataset rebuilds it')
        return np.array(vol[k], dtype=dtype, copy=True)

    def transform(self, results: dict) -> dict:
        """Add ``img`` (and ``gt_seg_map``) for one slice."""
        k = int(results['slice_idx'])
        img = self._slice(results['img_path'], k, np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        seg_path: Optional[str] = results.get('seg_map_path')
        if self.with_label and seg_path is not None:
            gt = self._slice(seg_path, k, np.uint8)
            if gt.shape != img.shape[:2]:
                raise DataError(
                    f'{seg_path}: label slice shape {gt.shape} differs from '
                    f'image {img.shape}; delete the cache so it is rebuilt')
            results['gt_seg_map'] = gt
            seg_fields = list(results.get('seg_fields') or [])
            if 'gt_seg_map' not in seg_fields:
                seg_fields.append('gt_seg_map')
            results['seg_fields'] = seg_fields
        oracle_path: Optional[str] = results.get('oracle_seg_map_path')
        if oracle_path is not None:  # hidden label, for analysis only
            results['oracle_seg_map'] = self._slice(oracle_path, k, np.uint8)
            seg_fields = list(results.get('seg_fields') or [])
            if 'oracle_seg_map' not in seg_fields:
                seg_fields.append('oracle_seg_map')
            results['seg_fields'] = seg_fields
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(with_label={self.with_label}, '
                f'max_open={self.max_open})')
