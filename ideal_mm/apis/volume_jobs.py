"""Segmenting the volumes an INPUT names (:mod:`.inputs`) into NIfTI files,
with their montages and the patients' cardiac function; ``tools/infer.py``
is the command line over these functions.
"""
from __future__ import annotations

import os.path as osp
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

import numpy as np
import torch

from ideal_mm.datasets.io import ACDC_CLASSES
from ideal_mm.errors import DataError
from .inference import segment_volume
from .inputs import Inputs, VolumeJob
from .nifti import write_label_nifti
from .volume_io import load_volume

__all__ = [
    'read_labels', 'format_volumes', 'segment_job', 'save_job_montage',
    'cardiac_reports'
]

Zooms = Tuple[float, float, float]


def _zooms(image: Any) -> Zooms:
    """The first three header zooms of a nibabel image (1.0 where absent)."""
    zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    return zooms + (1.0, ) * (3 - len(zooms))


def read_labels(
        path: str,
        classes: Sequence[str] = ACDC_CLASSES) -> Tuple[np.ndarray, Zooms]:
    """Labels (X, Y, Z) of an existing label file (values checked against
    ``classes``) and its zooms."""
    from ideal_mm.datasets.io import read_nifti_frame, read_nifti_raw_label
    if tuple(classes) == ACDC_CLASSES:
        arr, _, image = read_nifti_frame(path, is_label=True)
    else:
        import nibabel as nib
        arr, image = read_nifti_raw_label(path, classes, None), nib.load(path)
    return np.transpose(arr, (1, 2, 0)), _zooms(image)


def format_volumes(volumes: Dict[str, float]) -> str:
    """``LV 123.4 ml, RV 98.7 ml, Myo 110.2 ml`` (any classes)."""
    return ', '.join(f'{k} {v:.1f} ml' for k, v in volumes.items())


def segment_job(model: torch.nn.Module,
                job: VolumeJob,
                overwrite: bool,
                batch_size: int = 16,
                tta: bool = False) -> bool:
    """Segment ``job`` into ``job.out_file`` (the input's affine and header,
    atomically) and set ``job.labels`` / ``job.zooms``.

    An existing output is read back instead unless ``overwrite``; returns
    True when it was kept. Bad files raise :class:`DataError`.
    """
    classes = tuple(model.dataset_meta['classes'])
    if osp.exists(job.out_file) and not overwrite:
        job.labels, job.zooms = read_labels(job.out_file, classes)
        return True
    labels = segment_volume(
        model,
        list(job.img_files) or job.img_file,
        batch_size=batch_size,
        tta=tta)
    import nibabel as nib
    reference = nib.load(job.img_file)
    write_label_nifti(labels, reference, job.out_file)
    job.labels, job.zooms = labels, _zooms(reference)
    return False


def save_job_montage(job: VolumeJob, png: str, meta: Dict[str, Any],
                     title: str) -> None:
    """One PNG montage of the job's image (channel 0), its prediction and,
    when ``job.gt_file`` holds ACDC labels on the same grid, the ground
    truth."""
    from ideal_mm.visualization.montage import save_volume_montage
    image, _, _, _ = load_volume(list(job.img_files) or job.img_file)
    if image.ndim == 4:  # multi-channel: show channel 0
        image = image[..., 0]
    depth, height, width = image.shape
    pred = np.transpose(job.labels.reshape(height, width, depth), (2, 0, 1))
    gt = None
    if job.gt_file:
        from ideal_mm.datasets.io import read_nifti_frame
        try:
            gt, _, _ = read_nifti_frame(job.gt_file, is_label=True)
        except DataError:  # not ACDC labels: show none
            gt = None
        if gt is not None and gt.shape != image.shape:
            gt = None
    save_volume_montage(
        png, image, pred, meta['palette'], meta['classes'], gt=gt, title=title)


def cardiac_reports(
    inputs: Inputs
) -> Iterator[Tuple[str, Optional[dict], Optional[dict], Optional[Tuple[
        str, str]]]]:
    """Per ACDC patient: ``(patient id, predicted function, ground-truth
    function, failure)``.

    The function (EDV, ESV, EF of LV and RV,
    :func:`ideal_mm.evaluation.clinical.cardiac_function`) comes from the ED
    and ES predictions (None when a frame failed) and from the ``*_gt``
    files when both exist; ``failure`` is ``(file, message)`` for a bad
    ground-truth file.
    """
    from ideal_mm.evaluation.clinical import cardiac_function
    for pid, frames in inputs.patients.items():
        ed, es = frames['ED'], frames['ES']
        if ed.labels is None or es.labels is None:
            yield pid, None, None, None
            continue
        pred = cardiac_function(ed.labels, es.labels, ed.zooms, es.zooms)
        gt, failure = None, None
        if ed.gt_file and es.gt_file:
            try:
                ed_gt, ed_zooms = read_labels(ed.gt_file)
                es_gt, es_zooms = read_labels(es.gt_file)
                gt = cardiac_function(ed_gt, es_gt, ed_zooms, es_zooms)
            except DataError as err:
                failure = (ed.gt_file, str(err))
        yield pid, pred, gt, failure
