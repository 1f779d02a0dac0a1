"""What an inference INPUT names: the volumes to segment and their outputs.

INPUT (``tools/infer.py``, or a user's script) is one of

* a NIfTI file (``.nii`` / ``.nii.gz``) holding one 3D frame, or a 4D file
  whose last axis holds the channels (Medical Segmentation Decathlon);
* a folder of such files (``*_gt.nii[.gz]`` and ``*_4d.nii[.gz]`` are skipped);
* a folder of nnU-Net images ``<case>_0000.nii.gz`` (``_0001``, ... for more
  channels; every file of the folder named so): one volume per case, its
  channels stacked; an nnU-Net data set root (``dataset.json``) means its
  ``imagesTs/``;
* an ACDC patient folder (``Info.cfg`` names the ED and ES frames), read by
  the data layer's patient reader (:mod:`ideal_mm.datasets.io`);
* an ACDC data root (``training/`` and/or ``testing/`` patient folders).

:func:`collect_inputs` resolves INPUT to :class:`VolumeJob` s and
:func:`assign_outputs` gives each its output file.
"""
from __future__ import annotations

import os
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ideal_mm.datasets.io import RAW_SUBSETS, read_raw_patient
from ideal_mm.errors import ConfigError, DataError
from ideal_mm.nifti_names import NIFTI_EXTS, is_nifti, nifti_stem

__all__ = [
    'VolumeJob', 'Inputs', 'collect_inputs', 'assign_outputs', 'patient_jobs',
    'find_gt'
]

CHANNEL_RE = re.compile(r'^(?P<case>.+)_(?P<channel>\d{4})$')


@dataclass
class VolumeJob:
    """One 3D frame to segment."""

    img_file: str
    name: str
    gt_file: Optional[str] = None
    img_files: Tuple[str, ...] = ()  # nnU-Net channel files, in order
    patient_id: Optional[str] = None
    frame: Optional[str] = None  # 'ED' / 'ES' for patient folders
    out_file: str = ''
    labels: Optional[np.ndarray] = None
    zooms: Tuple[float, float, float] = (1.0, 1.0, 1.0)


@dataclass
class Inputs:
    """What INPUT resolved to: volumes, patients and unusable entries."""

    jobs: List[VolumeJob] = field(default_factory=list)
    patients: Dict[str, Dict[str, VolumeJob]] = field(default_factory=dict)
    failures: List[Tuple[str, str]] = field(default_factory=list)


def find_gt(img_file: str) -> Optional[str]:
    """``<stem>_gt.nii.gz`` (or ``.nii``) next to ``img_file``, if present."""
    stem = osp.join(osp.dirname(img_file), nifti_stem(img_file))
    for ext in NIFTI_EXTS:
        if osp.isfile(stem + '_gt' + ext):
            return stem + '_gt' + ext
    return None


def patient_jobs(folder: str) -> Dict[str, VolumeJob]:
    """The ED and ES frames of an ACDC patient folder (from ``Info.cfg``),
    found by the data layer's reader of a raw ACDC patient."""
    pid = osp.basename(osp.normpath(folder))
    record = read_raw_patient(folder, pid)
    return {
        frame.frame:
        VolumeJob(
            img_file=frame.img_file,
            name=nifti_stem(frame.img_file),
            gt_file=frame.gt_file,
            patient_id=pid,
            frame=frame.frame)
        for frame in record.frames
    }


def collect_inputs(path: str) -> Inputs:
    """Resolve INPUT (file, folder of files, patient folder or data root)."""
    found = Inputs()
    if osp.isfile(path):
        if not is_nifti(path):
            raise DataError(f'{path}: not a NIfTI file (.nii or .nii.gz)')
        found.jobs.append(
            VolumeJob(
                img_file=path, name=nifti_stem(path), gt_file=find_gt(path)))
        return found
    if not osp.isdir(path):
        raise DataError(f'{path}: no such file or folder')

    def add_patient(folder: str) -> None:
        try:
            frames = patient_jobs(folder)
        except DataError as err:
            found.failures.append((folder, str(err)))
            return
        found.patients[frames['ED'].patient_id] = frames
        found.jobs.extend(frames.values())

    if osp.isfile(osp.join(path, 'Info.cfg')):
        add_patient(path)
        if found.failures:
            raise DataError(found.failures[0][1])
        return found
    subsets = [
        osp.join(path, s) for s in RAW_SUBSETS if osp.isdir(osp.join(path, s))
    ]
    if subsets:
        for sub in subsets:
            for name in sorted(os.listdir(sub)):
                folder = osp.join(sub, name)
                if osp.isdir(folder) and osp.isfile(
                        osp.join(folder, 'Info.cfg')):
                    add_patient(folder)
        if not found.jobs and not found.failures:
            raise DataError(f'{path}: training/ or testing/ hold no patient '
                            'folders with an Info.cfg')
        return found
    if osp.isfile(osp.join(path, 'dataset.json')) and osp.isdir(
            osp.join(path, 'imagesTs')):
        path = osp.join(path, 'imagesTs')  # an nnU-Net data set root
    files = [
        name for name in sorted(os.listdir(path))
        if osp.isfile(osp.join(path, name)) and is_nifti(name)
        and not name.startswith('.')
    ]
    if files and all(CHANNEL_RE.match(nifti_stem(n)) for n in files):
        return nnunet_jobs(path, files, found)
    for name in files:
        file = osp.join(path, name)
        stem = nifti_stem(name)
        if not stem.endswith('_gt') and not stem.endswith('_4d'):
            found.jobs.append(
                VolumeJob(img_file=file, name=stem, gt_file=find_gt(file)))
    if not found.jobs:
        raise DataError(
            f'{path}: no NIfTI volumes found (expected *.nii / *.nii.gz '
            'frames, an ACDC patient folder with Info.cfg, or a data root '
            'with training/ and testing/)')
    return found


def nnunet_jobs(folder: str, files: Sequence[str], found: Inputs) -> Inputs:
    """One job per case of an nnU-Net images folder (``<case>_<CCCC>``, CCCC
    the channel).

    A case whose channels are not 0000..N-1 without a gap is reported as a
    failure naming the missing file; the other cases are still processed.
    """
    cases: Dict[str, Dict[int, str]] = {}
    for name in files:
        match = CHANNEL_RE.match(nifti_stem(name))
        cases.setdefault(match.group('case'),
                         {})[int(match.group('channel'))] = osp.join(
                             folder, name)
    for case, channels in sorted(cases.items()):
        missing = [c for c in range(max(channels) + 1) if c not in channels]
        if missing:
            ext = '.nii.gz' if channels[max(channels)].endswith('.gz') \
                else '.nii'
            found.failures.append(
                (osp.join(folder, f'{case}_{missing[0]:04d}{ext}'),
                 f'channel {missing[0]} of case {case} is missing; nnU-Net '
                 'cases need <case>_0000, <case>_0001, ... without gaps'))
            continue
        ordered = tuple(channels[c] for c in sorted(channels))
        found.jobs.append(
            VolumeJob(img_file=ordered[0], name=case, img_files=ordered))
    if not found.jobs and not found.failures:
        raise DataError(f'{folder}: no nnU-Net cases found')
    return found


def _output_name(template: str, name: str) -> str:
    """``template`` with ``{name}`` filled in; checked to be a NIfTI name."""
    try:
        out = template.format(name=name)
    except (KeyError, IndexError, ValueError) as err:
        raise ConfigError(
            f'--name-template {template!r} is invalid ({err}); use '
            "{name} for the input's name, e.g. '{name}_pred.nii.gz'") from None
    if not is_nifti(out):
        raise ConfigError(f'--name-template {template!r} must end with '
                          '.nii.gz or .nii')
    return out


def assign_outputs(inputs: Inputs, out_dir: str, template: str) -> None:
    """Set each job's output file; refuse collisions and input overwrites."""
    protected = set()
    for job in inputs.jobs:
        protected.add(osp.realpath(job.img_file))
        protected.update(osp.realpath(f) for f in job.img_files)
        if job.gt_file:
            protected.add(osp.realpath(job.gt_file))
    seen: Dict[str, str] = {}
    for job in inputs.jobs:
        out = osp.join(out_dir, _output_name(template, job.name))
        real = osp.realpath(out)
        if real in protected:
            raise ConfigError(
                f'output {out} would overwrite an input file; choose another '
                '--out-dir or --name-template (inputs are never overwritten)')
        if real in seen:
            raise ConfigError(f'{job.img_file} and {seen[real]} would both be '
                              f'written to {out}; use a --name-template that '
                              'keeps them apart')
        seen[real] = job.img_file
        job.out_file = out
