"""ACDCVolumeMetric: per-volume Dice / Jaccard / HD95 / ASD / ASSD for
slice-wise test loops."""
from __future__ import annotations

import os
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.registry import METRICS

from ..datasets.nifti_write import write_label_nifti_like_source
from ..datasets.volume_cache import cached_source_image
from ..errors import ConfigError, DataError
from .functional import METRIC_NAMES, volume_metrics
from .report import format_table, summarize, write_json, write_per_case_csv

__all__ = ['ACDCVolumeMetric']

_LOG_NAMES = {
    'dice': 'Dice',
    'jaccard': 'Jaccard',
    'hd95': 'HD95',
    'asd': 'ASD',
    'assd': 'ASSD'
}
#: Class names when neither ``class_names`` nor the dataset gives them (ACDC).
DEFAULT_CLASS_NAMES = ('RV', 'Myo', 'LV')
_META_KEYS = ('volume_id', 'slice_idx', 'num_slices', 'spacing',
              'seg_map_path')


@METRICS.register_module()
class ACDCVolumeMetric(BaseMetric):
    """Per-volume, per-class segmentation metrics of slice-wise predictions
    (ACDC protocol).

    mmseg's ``IoUMetric`` accumulates pixel counts over 2D slices; ACDC results
    are reported per 3D volume with surface distances in mm, which needs the
    slices of a volume reassembled first, so this metric is written here.

    ``process`` keeps each slice's prediction (``pred_sem_seg``, already on the
    original slice grid) as uint8 with its ``volume_id``, ``slice_idx``,
    ``num_slices``, ``spacing`` (sz, sx, sy) and ``seg_map_path`` (the cached
    (D, H, W) uint8 label volume). ``compute_metrics`` stacks each volume's
    slices into (D, H, W), loads the reference and computes, per class ``c``
    with label value ``i + 1`` (``c = class_names[i]``), prediction ``P`` and
    reference ``G``:

    * Dice ``2|P & G| / (|P| + |G|)`` as a fraction in [0, 1],
      Jaccard ``|P & G| / |P | G|``;
    * HD95 ``= percentile_95(A ∪ B)``, ASD ``= mean(A)``,
      ASSD ``= mean(A ∪ B)`` in mm, with ``A``/``B`` the distances from each
      surface voxel of ``P``/``G`` to the surface of ``G``/``P`` (exactly
      medpy's definitions, see :mod:`ideal_mm.evaluation.functional`).

    Class and overall values are means over volumes (and over classes for the
    ``m`` keys), leaving out undefined values (NaN: class absent from a map).
    Returned keys: ``mDice, mJaccard, mHD95, mASD, mASSD`` and
    ``<class>_<Metric>`` (e.g. ``RV_HD95``).

    Any number of classes: the names (and their count) come from
    ``class_names`` when given, else from the dataset's metainfo
    (``dataset_meta['classes']`` without the background, which mmengine sets
    from the val/test dataset: ACDC gives RV, Myo, LV; an nnU-Net data set
    the names of its dataset.json), else ACDC's (RV, Myo, LV).

    Args:
        class_names: class names for label values 1, 2, ...; None: from the
            dataset's metainfo.
        out_dir: if set, ``per_case.csv`` and ``summary.json`` are written
            there (atomically) after every evaluation.
        collect_device: ``'cpu'`` or ``'gpu'`` for collecting results across
            ranks.
        prefix: prefix of the returned keys (mmengine convention).
        pred_dir: if set, each predicted volume is also saved there as
            ``<volume_id>.nii.gz`` with the source frame's affine and header
            (``tools/test.py --out DIR``).
    """

    def __init__(self,
                 class_names: Optional[Sequence[str]] = None,
                 out_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 pred_dir: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(
            collect_device=collect_device, prefix=prefix, **kwargs)
        self._class_names = (None if class_names is None else
                             self._check_names(class_names))
        self.out_dir = out_dir
        self.pred_dir = pred_dir

    @staticmethod
    def _check_names(class_names: Sequence[str]) -> Tuple[str, ...]:
        names = tuple(str(n) for n in class_names)
        if not names or len(set(names)) != len(names):
            raise ConfigError(
                f'ACDCVolumeMetric: class_names={tuple(class_names)!r} must '
                'be non-empty and unique, e.g. class_names=("RV", "Myo", '
                '"LV")')
        return names

    @property
    def class_names(self) -> Tuple[str, ...]:
        """Foreground class names (label values 1, 2, ...)."""
        if self._class_names is not None:
            return self._class_names
        classes = (self.dataset_meta or {}).get('classes')
        if classes and len(classes) > 1:
            return self._check_names(tuple(classes)[1:])
        return DEFAULT_CLASS_NAMES

    @property
    def labels(self) -> Dict[str, int]:
        """Class name -> label value."""
        return {name: i + 1 for i, name in enumerate(self.class_names)}

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Store each slice's prediction (uint8 (H, W)) and volume metainfo."""
        for sample in data_samples:
            missing = [k for k in _META_KEYS if k not in sample]
            if missing:
                raise DataError(
                    f'ACDCVolumeMetric needs the metainfo keys {missing} '
                    f'(from {sample.get("img_path", "a data sample")}); add '
                    'them to '
                    "PackSegInputs' meta_keys as in docs/data_contract.md")
            pred = sample['pred_sem_seg']['data']
            if hasattr(pred, 'detach'):
                pred = pred.detach().cpu().numpy()
            pred = np.asarray(pred)
            if pred.ndim == 3:
                pred = pred[0]
            self.results.append({
                'volume_id':
                str(sample['volume_id']),
                'slice_idx':
                int(sample['slice_idx']),
                'num_slices':
                int(sample['num_slices']),
                'spacing':
                tuple(float(s) for s in sample['spacing']),
                'seg_map_path':
                sample['seg_map_path'],
                'pred':
                np.ascontiguousarray(pred, dtype=np.uint8),
            })

    def _assemble(self, volume_id: str,
                  slices: List[dict]) -> Tuple[np.ndarray, dict]:
        """Stack one volume's slices in order, checking each is present exactly
        once."""
        num = slices[0]['num_slices']
        seen: Dict[int, int] = defaultdict(int)
        for s in slices:
            seen[s['slice_idx']] += 1
        missing = [k for k in range(num) if seen.get(k, 0) == 0]
        dupes = sorted(k for k, n in seen.items() if n > 1)
        extra = sorted(k for k in seen if not 0 <= k < num)
        if missing or dupes or extra or any(s['num_slices'] != num
                                            for s in slices):
            raise DataError(
                f'volume {volume_id}: predictions must cover slices '
                f'0..{num - 1} exactly once (missing {missing[:10]}, '
                f'duplicated {dupes[:10]}, out of range {extra[:10]}); '
                'evaluate on the whole test set, without dropping or '
                'repeating slices')
        ordered = sorted(slices, key=lambda s: s['slice_idx'])
        shapes = {s['pred'].shape for s in ordered}
        if len(shapes) != 1:
            raise DataError(
                f'volume {volume_id}: slice predictions have different shapes '
                f'{sorted(shapes)}; predictions must be on the original slice '
                'grid')
        return np.stack([s['pred'] for s in ordered]), ordered[0]

    @staticmethod
    def _load_reference(volume_id: str, path: Optional[str]) -> np.ndarray:
        """Load the cached (D, H, W) reference label volume of
        ``volume_id``."""
        if not path:
            raise DataError(
                f'volume {volume_id} has no seg_map_path: the metric needs '
                'labelled val/test volumes (ACDCDataset with labels)')
        if not os.path.isfile(path):
            raise DataError(
                f'reference label volume {path} of {volume_id} not found; '
                'rebuild the volume cache (delete the cache folder and rerun)')
        try:
            return np.load(path, mmap_mode='r')
        except (OSError, ValueError) as err:
            raise DataError(
                f'cannot read reference label volume {path} ({err}); delete '
                'it '
                'so that the volume cache is rebuilt') from err

    def _write_prediction(self, volume_id: str, pred: np.ndarray,
                          meta: dict) -> None:
        """Save a predicted volume as ``<pred_dir>/<volume_id>.nii.gz``.

        The geometry comes from the source NIfTI named in the volume cache's
        meta file (next to the cached reference), else from the spacing.
        """
        source = cached_source_image(meta.get('seg_map_path') or '')
        os.makedirs(self.pred_dir, exist_ok=True)
        write_label_nifti_like_source(
            pred, os.path.join(self.pred_dir, f'{volume_id}.nii.gz'), source,
            meta['spacing'])

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Reassemble volumes, compute per-volume metrics, log the table, write
        reports."""
        by_volume: Dict[str, List[dict]] = defaultdict(list)
        for r in results:
            by_volume[r['volume_id']].append(r)
        cases = []
        for volume_id in sorted(by_volume):
            pred, meta = self._assemble(volume_id, by_volume[volume_id])
            gt = self._load_reference(volume_id, meta['seg_map_path'])
            if gt.shape != pred.shape:
                raise DataError(
                    f'volume {volume_id}: prediction shape {pred.shape} '
                    f'differs from reference {meta["seg_map_path"]} shape '
                    f'{gt.shape}; predictions must be resized back to the '
                    'original slice grid (ori_shape)')
            per_class = volume_metrics(pred, np.asarray(gt), meta['spacing'],
                                       self.labels)
            cases.append({'case': volume_id, **per_class})
            if self.pred_dir:
                self._write_prediction(volume_id, pred, meta)

        summary = summarize(cases, self.class_names)
        logger = MMLogger.get_current_instance()
        print_log(
            'per-volume metrics:\n' + format_table(summary), logger=logger)
        if self.out_dir:
            write_per_case_csv(
                os.path.join(self.out_dir, 'per_case.csv'), cases)
            write_json(os.path.join(self.out_dir, 'summary.json'), summary)
            print_log(
                f'per-case metrics and summary written to {self.out_dir}',
                logger=logger)

        metrics: Dict[str, float] = {}
        for m in METRIC_NAMES:
            metrics[f'm{_LOG_NAMES[m]}'] = float(summary['mean'][m])
        for name in self.class_names:
            for m in METRIC_NAMES:
                metrics[f'{name}_{_LOG_NAMES[m]}'] = float(
                    summary['per_class'][name][m])
        return metrics
