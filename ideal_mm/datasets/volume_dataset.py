"""``VolumeSegDataset``: the base of every 3D (NIfTI) data set, as 2D slices.

mmseg's ``BaseSegDataset.load_data_list`` lists 2D image files; medical data
sets are 3D volumes that must be split by patient, given a label budget by
patient, normalised per volume and sliced. This base owns all of that, and a
data set only says how its cases are found (:meth:`VolumeSegDataset.scan`),
as mmseg's thin dataset subclasses only say where their files are:

* ``scan()`` -> ``{patient_id: PatientRecord}``: each patient's volumes
  (:class:`~ideal_mm.datasets.io.FrameFiles`: image file(s), label file or
  None), its group (for stratified splits) and ``labelled=False`` for
  patients that have no labels by construction (test images, which join the
  unlabelled train pool and never a val/test split);
* patient-level splits (:func:`~ideal_mm.datasets.splits.build_split`:
  SSL4MIS file, seeded stratified, user file) and label budgets
  (:func:`~ideal_mm.datasets.splits.select_labelled`);
* the memory-mapped volume cache (:mod:`~ideal_mm.datasets.volume_cache`),
  with ``label_map`` (raw label value -> class index) applied when labels are
  cached and ``normalize`` per volume (MRI) or by a fixed window (CT);
* the slice ``data_list`` (``docs/data_contract.md``) and the metainfo
  (``classes``, ``palette``) that the metric, the visualiser and inference
  read (``dataset.metainfo``).

Subclasses: :class:`~ideal_mm.datasets.acdc.ACDCDataset`,
:class:`~ideal_mm.datasets.nnunet.NnUNetDataset`,
:class:`~ideal_mm.datasets.nnunet.MSDDataset`.
"""
from __future__ import annotations

import abc
import copy
import hashlib
import json
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ideal_mm.errors import ConfigError, DataError
from .io import FrameFiles, PatientRecord, read_frame
from .splits import build_split, select_labelled
from .volume_cache import (IMAGE_NORMALIZE_MODES, build_volume_cache,
                           cache_paths, check_window, default_cache_dir,
                           normalize_image)

SPLITS = ('train', 'val', 'test')
SUBSETS = ('all', 'labelled', 'unlabelled')

#: Colours of label values 0..3 (ACDC's palette) followed by well separated
#: colours for further classes (Kelly's list); :func:`default_palette`.
_BASE_PALETTE = [[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200],
                 [255, 225, 25], [245, 130, 48], [145, 30,
                                                  180], [70, 240, 240],
                 [240, 50, 230], [210, 245, 60], [250, 190,
                                                  212], [0, 128, 128],
                 [220, 190, 255], [170, 110, 40], [255, 250, 200], [128, 0, 0],
                 [170, 255, 195], [128, 128, 0], [255, 215, 180], [0, 0, 128],
                 [128, 128, 128]]


def default_palette(num_classes: int) -> List[List[int]]:
    """RGB colours for label values ``0..num_classes - 1`` (0 is black).

    The first 21 are fixed (ACDC's four, then Kelly's distinct colours);
    further ones come from a seeded generator, so a palette never changes
    between runs.
    """
    if num_classes < 1:
        raise ConfigError(f'num_classes={num_classes} must be >= 1')
    palette = [list(c) for c in _BASE_PALETTE[:num_classes]]
    rng = np.random.default_rng(0)
    while len(palette) < num_classes:
        palette.append([int(v) for v in rng.integers(40, 256, size=3)])
    return palette


def check_label_map(label_map: Optional[Mapping]) -> Optional[Dict[int, int]]:
    """``label_map`` as ``{int: int}`` (raw value -> class index), checked."""
    if label_map is None:
        return None
    if not isinstance(label_map, Mapping) or not label_map:
        raise ConfigError(
            f'label_map={label_map!r} must be a non-empty dict '
            'raw label value -> class index, e.g. {205: 1, 420: 2}')
    out: Dict[int, int] = {}
    for k, v in label_map.items():
        try:
            key, value = int(k), int(v)
        except (TypeError, ValueError):
            raise ConfigError(f'label_map entry {k!r}: {v!r} must map an '
                              'integer to an integer') from None
        if key != float(k) or value != float(v) or value < 0:
            raise ConfigError(f'label_map entry {k!r}: {v!r} must map an '
                              'integer to a class index >= 0')
        out[key] = value
    return out


class VolumeSegDataset(BaseSegDataset, metaclass=abc.ABCMeta):
    """Base of the 3D data sets: patients -> split -> budget -> cache ->
    slices.

    Args:
        data_root: the data set's folder.
        split: ``'train'``, ``'val'`` or ``'test'``.
        subset: train only: ``'labelled'`` (the budget's patients),
            ``'unlabelled'`` (the other train patients and every patient
            without labels, e.g. nnU-Net's ``imagesTs``; no labels are read,
            ``seg_map_path`` is None) or ``'all'`` (both; labelled ones with
            ``seg_map_path``).
        label_budget: number of labelled train patients (int), a fraction of
            them (float in (0, 1]) or None (all labelled): the first N of the
            sorted train list.
        split_cfg: see :func:`ideal_mm.datasets.splits.build_split`; default
            :attr:`DEFAULT_SPLIT_CFG`.
        normalize: ``'minmax'`` or ``'zscore'`` per volume and channel
            (MRI), or ``'window'`` with ``intensity_window`` (CT).
        intensity_window: ``(lo, hi)`` for ``normalize='window'``.
        label_map: raw label value -> class index applied to every label
            file (``{205: 1, 420: 2, ...}``); a value outside the map is a
            DataError naming the file. 0 maps to 0 unless given.
        cache_dir: volume cache folder (default under ``data_root``).
        oracle_labels: train split only: give slices of unlabelled patients
            that have a label file an ``oracle_seg_map_path`` (logging of
            pseudo-label accuracy; never read by a loss).
        **kwargs: passed to :class:`mmseg.datasets.BaseSegDataset`.
    """

    METAINFO: dict = dict()
    #: ``split_cfg`` when the config gives none.
    DEFAULT_SPLIT_CFG: dict = dict(type='seeded', seed=0)
    #: Name of the data set in log lines.
    DATASET_NAME = 'volume'

    # ACDCDataset repeats this signature, with its own `source` argument among
    # these
    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 subset: str = 'all',
                 label_budget: Union[int, float, None] = None,
                 split_cfg: Optional[Mapping] = None,
                 normalize: str = 'minmax',
                 cache_dir: Optional[str] = None,
                 progress: bool = True,
                 oracle_labels: bool = False,
                 label_map: Optional[Mapping] = None,
                 intensity_window: Optional[Sequence[float]] = None,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ConfigError(f'split={split!r} must be one of {SPLITS}')
        if subset not in SUBSETS:
            raise ConfigError(f'subset={subset!r} must be one of {SUBSETS}')
        if split != 'train' and subset != 'all':
            raise ConfigError(
                f"subset={subset!r} applies to split='train' only; use "
                f"subset='all' for split={split!r}")
        if subset == 'labelled' and label_budget is None:
            raise ConfigError(
                "label_budget is required with subset='labelled' (number of "
                'labelled patients, or a fraction in (0, 1])')
        self._check_options()
        if normalize not in self.normalize_modes():
            raise ConfigError(f'normalize={normalize!r} must be one of '
                              f'{self.normalize_modes()}')
        if normalize == 'window':
            intensity_window = check_window(intensity_window)
        elif intensity_window is not None:
            raise ConfigError(
                f'intensity_window={intensity_window!r} needs '
                "normalize='window' (it is ignored otherwise); remove it or "
                "set normalize='window'")
        if data_root is None:
            raise ConfigError(f'data_root is required (the {self.DATASET_NAME}'
                              ' folder)')
        self.split = split
        self.subset = subset
        self.label_budget = label_budget
        self.split_cfg = copy.deepcopy(
            dict(split_cfg
                 ) if split_cfg is not None else dict(self.DEFAULT_SPLIT_CFG))
        self.normalize = normalize
        self.intensity_window = (
            tuple(intensity_window) if intensity_window is not None else None)
        self.label_value_map = check_label_map(label_map)
        self.cache_dir = cache_dir
        self.progress = progress
        self.oracle_labels = bool(oracle_labels)
        self._volumes: List[dict] = []
        self.patient_split: Dict[str, List[str]] = {}
        self.labelled_patients: List[str] = []
        self.unlabelled_only: List[str] = []
        kwargs.setdefault('img_suffix', '.npy')
        kwargs.setdefault('seg_map_suffix', '.npy')
        super().__init__(data_root=data_root, **kwargs)

    # ------------------------------------------------------------------
    # what a subclass provides
    # ------------------------------------------------------------------
    @abc.abstractmethod
    def scan(self) -> Dict[str, PatientRecord]:
        """Every patient of ``self.data_root``: ``{patient_id: record}``.

        Raise :class:`~ideal_mm.errors.DataError` naming the file or folder
        for anything missing or inconsistent (empty folder, duplicated ids).
        """

    def _check_options(self) -> None:
        """Check subclass options before the generic ones (hook)."""

    @classmethod
    def normalize_modes(cls) -> Tuple[str, ...]:
        """The ``normalize`` values this data set accepts."""
        return IMAGE_NORMALIZE_MODES

    def cache_tag(self) -> Tuple[str, str]:
        """(source, normalisation tag) naming the cache folder
        ``<source>-<tag>``; the tag also marks each cached volume, so another
        normalisation, window or label map never reuses it."""
        tag = self.normalize
        if self.intensity_window is not None:
            lo, hi = self.intensity_window
            tag += f'_{lo:g}_{hi:g}'
        if self.label_value_map:
            blob = json.dumps(sorted(self.label_value_map.items()))
            tag += '-map' + hashlib.sha1(blob.encode()).hexdigest()[:8]
        return type(self).__name__.lower(), tag

    @property
    def num_channels(self) -> int:
        """Image channels per slice (1 unless the data set declares more)."""
        return 1

    def prepare_volume(
        self, frame: FrameFiles, with_label: bool
    ) -> Tuple[np.ndarray, Optional[np.ndarray], Tuple[float, float, float]]:
        """Read one volume, check it against the classes and ``label_map``,
        normalise it: ``(image, labels or None, spacing)``."""
        img, gt, spacing = read_frame(frame, with_label,
                                      self.metainfo['classes'],
                                      self.label_value_map)
        return (normalize_image(img, self.normalize,
                                self.intensity_window), gt, spacing)

    # ------------------------------------------------------------------
    # the shared machinery
    # ------------------------------------------------------------------
    def _select(self, patients: Dict[str, PatientRecord]) -> List[str]:
        """Split, budget; the chosen patients in data-list order."""
        label_free = sorted(pid for pid, rec in patients.items()
                            if not rec.labelled)
        splittable = [pid for pid in patients if pid not in set(label_free)]
        if not splittable:
            raise DataError(
                f'{self.data_root}: no case has a label file, so there is '
                'nothing to split into train/val/test; add labelled cases')
        groups = {pid: patients[pid].group for pid in splittable}
        split = build_split(self.split_cfg, splittable, groups, self.data_root)
        self.patient_split = split
        self.unlabelled_only = label_free
        if self.split == 'train':
            labelled = select_labelled(split['train'], self.label_budget)
            if self.subset == 'labelled':
                chosen = labelled
            elif self.subset == 'unlabelled':
                chosen = sorted(set(split['train']) - set(labelled))
                chosen = sorted(set(chosen) | set(label_free))
                if not chosen:
                    raise ConfigError(
                        f'label_budget={self.label_budget!r} labels every '
                        f"train patient, so subset='unlabelled' is empty; "
                        'lower label_budget')
            else:
                chosen = sorted(set(split['train']) | set(label_free))
        else:
            chosen = sorted(split[self.split])
            labelled = list(chosen)
        self.labelled_patients = sorted(labelled)
        return chosen

    def load_data_list(self) -> List[dict]:
        """Scan, split, cache; return one entry per slice, volume by volume."""
        patients = self.scan()
        chosen = self._select(patients)
        labelled_set = set(self.labelled_patients)
        frames: List[FrameFiles] = [
            frame for pid in chosen for frame in patients[pid].frames
        ]
        need_label = {
            f.volume_id
            for f in frames if f.patient_id in labelled_set
        }
        oracle = set()
        if self.oracle_labels and self.split == 'train':
            oracle = {
                f.volume_id
                for f in frames
                if f.volume_id not in need_label and f.gt_file is not None
            }
        source, tag = self.cache_tag()
        cache_dir = self.cache_dir or default_cache_dir(
            self.data_root, source, tag)
        self.cache_dir = cache_dir
        metas = build_volume_cache(
            frames,
            cache_dir,
            tag,
            need_label | oracle,
            progress=self.progress,
            prepare=self.prepare_volume,
            name=self.DATASET_NAME)
        return self._slices(frames, metas, cache_dir, need_label, oracle)

    def _volume_info(self, frame: FrameFiles, meta: dict) -> dict:
        """Extra per-volume keys of :meth:`volumes` (hook)."""
        return dict(num_channels=int(meta.get('channels', 1)))

    def _slices(self, frames: Sequence[FrameFiles], metas: Dict[str, dict],
                cache_dir: str, need_label: set, oracle: set) -> List[dict]:
        data_list: List[dict] = []
        self._volumes = []
        for frame in frames:
            meta = metas[frame.volume_id]
            paths = cache_paths(cache_dir, frame.volume_id)
            is_labelled = frame.volume_id in need_label
            spacing = tuple(float(s) for s in meta['spacing'])
            depth = int(meta['shape'][0])
            gt_path = paths['gt'] if is_labelled else None
            info = dict(
                volume_id=frame.volume_id,
                patient_id=frame.patient_id,
                frame=frame.frame,
                img_path=paths['img'],
                seg_map_path=gt_path,
                spacing=spacing,
                shape=tuple(int(s) for s in meta['shape']),
                labelled=is_labelled,
                img_source=frame.img_file,
                gt_source=frame.gt_file if is_labelled else None)
            info.update(self._volume_info(frame, meta))
            self._volumes.append(info)
            for k in range(depth):
                data_list.append(
                    dict(
                        img_path=paths['img'],
                        seg_map_path=gt_path,
                        slice_idx=k,
                        num_slices=depth,
                        volume_id=frame.volume_id,
                        patient_id=frame.patient_id,
                        frame=frame.frame,
                        spacing=spacing,
                        labelled=is_labelled,
                        reduce_zero_label=False,
                        seg_fields=[]))
                if frame.volume_id in oracle:
                    data_list[-1]['oracle_seg_map_path'] = paths['gt']
        return data_list

    def volumes(self) -> List[dict]:
        """Per-volume info of this dataset, in data-list order.

        Each dict has ``volume_id``, ``patient_id``, ``frame`` (ACDC's ED/ES,
        else None), ``img_path`` and ``seg_map_path`` (cache ``.npy`` files;
        the latter None when unlabelled), ``spacing`` (sz, sx, sy), ``shape``
        (D, H, W[, C]), ``labelled``, and the source files ``img_source`` /
        ``gt_source``; generic data sets add ``num_channels``.
        """
        if not self._fully_initialized:
            self.full_init()
        return copy.deepcopy(self._volumes)

    @property
    def volume_ids(self) -> List[str]:
        """The volume ids of this dataset, in data-list order."""
        return [v['volume_id'] for v in self.volumes()]

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(data_root={self.data_root!r}, '
                f'split={self.split!r}, subset={self.subset!r}, '
                f'label_budget={self.label_budget!r})')


DATASETS.register_module(module=VolumeSegDataset)
