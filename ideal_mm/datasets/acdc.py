"""``ACDCDataset``: ACDC cardiac MRI as slices, split by patient, with
budgets."""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Tuple, Union

from mmseg.registry import DATASETS

from ideal_mm.errors import ConfigError
from .io import PatientRecord, scan_data_root
from .volume_cache import NORMALIZE_MODES
from .volume_dataset import SPLITS, SUBSETS, VolumeSegDataset  # noqa: F401

SOURCES = ('raw', 'ssl4mis_h5')


@DATASETS.register_module()
class ACDCDataset(VolumeSegDataset):
    """ACDC (Automated Cardiac Diagnosis Challenge) short-axis cine MRI.

    Every ED and ES frame of the selected patients is cached once as a
    normalised, memory-mappable volume (:mod:`ideal_mm.datasets.volume_cache`)
    and the data list holds one entry per slice, volume by volume, with the
    keys of ``docs/data_contract.md``. ``LoadACDCSlice`` then loads a slice.
    A thin subclass of
    :class:`~ideal_mm.datasets.volume_dataset.VolumeSegDataset`
    (which owns splits, budgets, the cache and the slice list): it finds the
    patients (``Info.cfg``, ED/ES frames, or the SSL4MIS h5 copy), keeps the
    SSL4MIS split as default and its cache folder ``<source>-<normalize>``.

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
        **kwargs: ``label_map`` (raw label value -> class index) and the
            arguments of :class:`mmseg.datasets.BaseSegDataset`
            (``pipeline``, ``test_mode``, ``lazy_init``, ...).
    """

    METAINFO = dict(
        classes=('background', 'RV', 'Myo', 'LV'),
        palette=[[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200]])

    DEFAULT_SPLIT_CFG = dict(type='ssl4mis')
    DATASET_NAME = 'ACDC'

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
        self.source = source
        super().__init__(
            data_root=data_root,
            split=split,
            subset=subset,
            label_budget=label_budget,
            split_cfg=split_cfg,
            normalize=normalize,
            cache_dir=cache_dir,
            progress=progress,
            oracle_labels=oracle_labels,
            **kwargs)

    def _check_options(self) -> None:
        if self.source not in SOURCES:
            raise ConfigError(
                f'source={self.source!r} must be one of {SOURCES}')

    @classmethod
    def normalize_modes(cls):
        """ACDC is MRI: per-volume ``'minmax'`` or ``'zscore'``."""
        return NORMALIZE_MODES

    def scan(self) -> Dict[str, PatientRecord]:
        """The patients of the raw ACDC download or of the SSL4MIS h5 copy."""
        return scan_data_root(self.data_root, self.source)

    def cache_tag(self) -> Tuple[str, str]:
        """``(source, normalize)``: the cache stays
        ``.ideal_mm_cache/<source>-<normalize>`` (a label_map adds a hash)."""
        tag = self.normalize
        if self.label_value_map:
            tag = super().cache_tag()[1]
        return self.source, tag

    def _volume_info(self, frame, meta) -> dict:
        return {}

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(data_root={self.data_root!r}, '
                f'split={self.split!r}, subset={self.subset!r}, '
                f'label_budget={self.label_budget!r}, source={self.source!r})')
