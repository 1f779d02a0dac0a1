"""``ACDCDataset``: ACDC cardiac MRI as slices, split by patient, with budgets."""
from __future__ import annotations

import copy
from typing import Dict, List, Mapping, Optional, Union

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ideal_mm.errors import ConfigError
from .io import FrameFiles, scan_data_root
from .splits import build_split, select_labelled
from .volume_cache import (NORMALIZE_MODES, build_volume_cache, cache_paths,
                           default_cache_dir)

SPLITS = ('train', 'val', 'test')
SUBSETS = ('all', 'labelled', 'unlabelled')
SOURCES = ('raw', 'ssl4mis_h5')


@DATASETS.register_module()
class ACDCDataset(BaseSegDataset):
    """ACDC (Automated Cardiac Diagnosis Challenge) short-axis cine MRI.

    Every ED and ES frame of the selected patients is cached once as a
    normalised, memory-mappable volume (:mod:`ideal_mm.datasets.volume_cache`)
    and the data list holds one entry per slice, volume by volume, with the
    keys of ``docs/data_contract.md``. ``LoadACDCSlice`` then loads a slice.
    mmseg's ``load_data_list`` lists 2D image files; this class replaces it
    because ACDC comes as 3D NIfTI volumes with patient-level splits.

    Args:
        data_root: the ACDC folder (``training/`` and ``testing/`` for
            ``source='raw'``, ``ACDC_training_volumes/`` for ``'ssl4mis_h5'``).
        split: ``'train'``, ``'val'`` or ``'test'``.
        subset: train only: ``'labelled'`` (the budget's patients),
            ``'unlabelled'`` (the other train patients; no labels are read,
            ``seg_map_path`` is None) or ``'all'`` (every train patient,
            labelled ones with ``seg_map_path``).
        label_budget: number of labelled train patients (int), a fraction of
            them (float in (0, 1]) or None (all labelled). The labelled
            patients are the first N of the sorted train list (SSL4MIS).
        split_cfg: see :func:`ideal_mm.datasets.splits.build_split`.
        source: ``'raw'`` (NIfTI) or ``'ssl4mis_h5'``.
        normalize: per-volume ``'minmax'`` (to [0, 1]) or ``'zscore'``.
        cache_dir: volume cache folder; default
            ``<data_root>/.ideal_mm_cache/<source>-<normalize>``.
        oracle_labels: train split only: give slices of unlabelled patients
            an ``oracle_seg_map_path`` (their label, which ``seg_map_path``
            still leaves out) so the semi-supervised segmentors can log how
            accurate their pseudo-labels are (``oracle.*`` keys). For
            analysis on data that has every label (phantoms, or a real data
            set with a budget simulated); never read by a loss.
        **kwargs: passed to :class:`mmseg.datasets.BaseSegDataset`
            (``pipeline``, ``test_mode``, ``lazy_init``, ...).
    """

    METAINFO = dict(
        classes=('background', 'RV', 'Myo', 'LV'),
        palette=[[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200]])

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 subset: str = 'all',
                 label_budget: Union[int, float, None] = None,
                 split_cfg: Optional[Mapping] = None,
                 source: str = 'raw',
                 normalize: str = 'minmax',
                 cache_dir: Optional[str] = None,
                 progress: bool = True,
                 oracle_labels: bool = False,
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
        if source not in SOURCES:
            raise ConfigError(f'source={source!r} must be one of {SOURCES}')
        if normalize not in NORMALIZE_MODES:
            raise ConfigError(
                f'normalize={normalize!r} must be one of {NORMALIZE_MODES}')
        if data_root is None:
            raise ConfigError('data_root is required (the ACDC folder)')
        self.split = split
        self.subset = subset
        self.label_budget = label_budget
        self.split_cfg = copy.deepcopy(
            dict(split_cfg) if split_cfg is not None else dict(type='ssl4mis'))
        self.source = source
        self.normalize = normalize
        self.cache_dir = cache_dir
        self.progress = progress
        self.oracle_labels = bool(oracle_labels)
        self._volumes: List[dict] = []
        self.patient_split: Dict[str, List[str]] = {}
        self.labelled_patients: List[str] = []
        kwargs.setdefault('img_suffix', '.npy')
        kwargs.setdefault('seg_map_suffix', '.npy')
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Scan, split, cache; return one entry per slice, volume by volume."""
        patients = scan_data_root(self.data_root, self.source)
        groups = {pid: rec.group for pid, rec in patients.items()}
        split = build_split(self.split_cfg, list(patients), groups,
                            self.data_root)
        self.patient_split = split
        if self.split == 'train':
            labelled = select_labelled(split['train'], self.label_budget)
            if self.subset == 'labelled':
                chosen = labelled
            elif self.subset == 'unlabelled':
                chosen = sorted(set(split['train']) - set(labelled))
                if not chosen:
                    raise ConfigError(
                        f'label_budget={self.label_budget!r} labels every '
                        f"train patient, so subset='unlabelled' is empty; "
                        'lower label_budget')
            else:
                chosen = sorted(split['train'])
        else:
            chosen = sorted(split[self.split])
            labelled = list(chosen)
        self.labelled_patients = sorted(labelled)
        labelled_set = set(labelled)

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
        cache_dir = self.cache_dir or default_cache_dir(
            self.data_root, self.source, self.normalize)
        self.cache_dir = cache_dir
        metas = build_volume_cache(
            frames, cache_dir, self.normalize, need_label | oracle,
            progress=self.progress)

        data_list: List[dict] = []
        self._volumes = []
        for frame in frames:
            meta = metas[frame.volume_id]
            paths = cache_paths(cache_dir, frame.volume_id)
            is_labelled = frame.volume_id in need_label
            spacing = tuple(float(s) for s in meta['spacing'])
            depth = int(meta['shape'][0])
            gt_path = paths['gt'] if is_labelled else None
            self._volumes.append(
                dict(
                    volume_id=frame.volume_id,
                    patient_id=frame.patient_id,
                    frame=frame.frame,
                    img_path=paths['img'],
                    seg_map_path=gt_path,
                    spacing=spacing,
                    shape=tuple(int(s) for s in meta['shape']),
                    labelled=is_labelled,
                    img_source=frame.img_file,
                    gt_source=frame.gt_file if is_labelled else None))
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

        Each dict has ``volume_id``, ``patient_id``, ``frame``, ``img_path``
        and ``seg_map_path`` (cache ``.npy`` files; the latter None when
        unlabelled), ``spacing`` (sz, sx, sy), ``shape`` (D, H, W),
        ``labelled``, and the source files ``img_source`` / ``gt_source``.
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
                f'label_budget={self.label_budget!r}, source={self.source!r})')

