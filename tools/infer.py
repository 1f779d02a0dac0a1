"""Segment NIfTI volumes with a trained model; report volumes and ejection fractions.

    python tools/infer.py CONFIG CHECKPOINT INPUT --out-dir DIR
        [--device cuda] [--tta] [--show-dir PNG_DIR] [--overwrite]
        [--name-template '{name}_pred.nii.gz'] [--batch-size 16]

INPUT is one of
  * a NIfTI file (``.nii`` / ``.nii.gz``) holding one 3D frame, or a 4D file
    whose last axis holds the channels (Medical Segmentation Decathlon);
  * a folder of such files (``*_gt.nii[.gz]`` and ``*_4d.nii[.gz]`` are skipped);
  * a folder of nnU-Net images ``<case>_0000.nii.gz`` (``_0001``, ... for more
    channels; every file of the folder named so): one volume per case, its
    channels stacked; an nnU-Net data set root (``dataset.json``) means its
    ``imagesTs/``;
  * an ACDC patient folder (``Info.cfg`` names the ED and ES frames);
  * an ACDC data root (``training/`` and/or ``testing/`` patient folders).

For every volume: ``DIR/<name>_pred.nii.gz`` (uint8 class indices of the
model's classes, for ACDC 0 bg, 1 RV, 2 Myo, 3 LV; the input's affine and
header, qform and sform), written atomically, and one line with the volume
in ml of every class. The clinical quantities are ACDC-only: for ACDC
patient folders (and a model with ACDC's classes) also LV/RV EDV, ESV and
EF from the ED and ES predictions (and from the ground truth when ``*_gt``
files exist). An existing output is kept unless
``--overwrite``; an input is never overwritten. A bad file is reported and
the others are still processed; the exit status is then 1.
"""
from __future__ import annotations

import argparse
import os
import re
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import ideal_mm  # noqa: E402,F401  (compat first, registers components)
import numpy as np  # noqa: E402
from ideal_mm.apis.nifti import write_label_nifti  # noqa: E402
from ideal_mm.datasets.io import ACDC_CLASSES  # noqa: E402
from ideal_mm.errors import ConfigError, DataError, run_cli  # noqa: E402

NIFTI_EXTS = ('.nii.gz', '.nii')
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


def is_nifti(path: str) -> bool:
    """True for ``.nii`` / ``.nii.gz`` file names."""
    return path.endswith(NIFTI_EXTS)


def strip_nifti(path: str) -> str:
    """File name without folder and NIfTI extension."""
    base = osp.basename(path)
    for ext in NIFTI_EXTS:
        if base.endswith(ext):
            return base[:-len(ext)]
    return base


def find_gt(img_file: str) -> Optional[str]:
    """``<stem>_gt.nii.gz`` (or ``.nii``) next to ``img_file``, if present."""
    stem = osp.join(osp.dirname(img_file), strip_nifti(img_file))
    for ext in NIFTI_EXTS:
        if osp.isfile(stem + '_gt' + ext):
            return stem + '_gt' + ext
    return None


def _frame_file(folder: str, pid: str, number: int) -> Optional[str]:
    for ext in NIFTI_EXTS:
        path = osp.join(folder, f'{pid}_frame{number:02d}{ext}')
        if osp.isfile(path):
            return path
    return None


def patient_jobs(folder: str) -> Dict[str, VolumeJob]:
    """The ED and ES frames of an ACDC patient folder (from ``Info.cfg``)."""
    from ideal_mm.datasets.io import parse_info_cfg
    info = parse_info_cfg(osp.join(folder, 'Info.cfg'))
    pid = osp.basename(osp.normpath(folder))
    jobs = {}
    for frame in ('ED', 'ES'):
        number = int(float(info[frame]))
        img = _frame_file(folder, pid, number)
        if img is None:
            raise DataError(
                f'{osp.join(folder, f"{pid}_frame{number:02d}.nii.gz")}: '
                f'missing {frame} frame named by Info.cfg ({frame}: {number});'
                ' restore the file or correct Info.cfg')
        jobs[frame] = VolumeJob(img_file=img, name=strip_nifti(img),
                                gt_file=find_gt(img), patient_id=pid,
                                frame=frame)
    return jobs


def collect_inputs(path: str) -> Inputs:
    """Resolve INPUT (file, folder of files, patient folder or data root)."""
    found = Inputs()
    if osp.isfile(path):
        if not is_nifti(path):
            raise DataError(f'{path}: not a NIfTI file (.nii or .nii.gz)')
        found.jobs.append(VolumeJob(img_file=path, name=strip_nifti(path),
                                    gt_file=find_gt(path)))
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
    subsets = [osp.join(path, s) for s in ('training', 'testing')
               if osp.isdir(osp.join(path, s))]
    if subsets:
        for sub in subsets:
            for name in sorted(os.listdir(sub)):
                folder = osp.join(sub, name)
                if osp.isdir(folder) and osp.isfile(osp.join(folder,
                                                             'Info.cfg')):
                    add_patient(folder)
        if not found.jobs and not found.failures:
            raise DataError(f'{path}: training/ or testing/ hold no patient '
                            'folders with an Info.cfg')
        return found
    if osp.isfile(osp.join(path, 'dataset.json')) and osp.isdir(
            osp.join(path, 'imagesTs')):
        path = osp.join(path, 'imagesTs')  # an nnU-Net data set root
    files = [name for name in sorted(os.listdir(path))
             if osp.isfile(osp.join(path, name)) and is_nifti(name)
             and not name.startswith('.')]
    if files and all(CHANNEL_RE.match(strip_nifti(n)) for n in files):
        return nnunet_jobs(path, files, found)
    for name in files:
        file = osp.join(path, name)
        stem = strip_nifti(name)
        if not stem.endswith('_gt') and not stem.endswith('_4d'):
            found.jobs.append(VolumeJob(img_file=file, name=stem,
                                        gt_file=find_gt(file)))
    if not found.jobs:
        raise DataError(
            f'{path}: no NIfTI volumes found (expected *.nii / *.nii.gz '
            'frames, an ACDC patient folder with Info.cfg, or a data root '
            'with training/ and testing/)')
    return found


def nnunet_jobs(folder: str, files: Sequence[str], found: Inputs) -> Inputs:
    """One job per case of an nnU-Net images folder (``<case>_XXXX``).

    A case whose channels are not 0000..N-1 without a gap is reported as a
    failure naming the missing file; the other cases are still processed.
    """
    cases: Dict[str, Dict[int, str]] = {}
    for name in files:
        match = CHANNEL_RE.match(strip_nifti(name))
        cases.setdefault(match.group('case'), {})[int(
            match.group('channel'))] = osp.join(folder, name)
    for case, channels in sorted(cases.items()):
        missing = [c for c in range(max(channels) + 1) if c not in channels]
        if missing:
            ext = '.nii.gz' if channels[max(channels)].endswith('.gz') \
                else '.nii'
            found.failures.append((
                osp.join(folder, f'{case}_{missing[0]:04d}{ext}'),
                f'channel {missing[0]} of case {case} is missing; nnU-Net '
                'cases need <case>_0000, <case>_0001, ... without gaps'))
            continue
        ordered = tuple(channels[c] for c in sorted(channels))
        found.jobs.append(VolumeJob(img_file=ordered[0], name=case,
                                    img_files=ordered))
    if not found.jobs and not found.failures:
        raise DataError(f'{folder}: no nnU-Net cases found')
    return found


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
        try:
            name = template.format(name=job.name)
        except (KeyError, IndexError, ValueError) as err:
            raise ConfigError(
                f'--name-template {template!r} is invalid ({err}); use '
                "{name} for the input's name, e.g. '{name}_pred.nii.gz'"
            ) from None
        if not is_nifti(name):
            raise ConfigError(f'--name-template {template!r} must end with '
                              '.nii.gz or .nii')
        out = osp.join(out_dir, name)
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


def read_labels(path: str, classes: Sequence[str] = ACDC_CLASSES
                ) -> Tuple[np.ndarray, Tuple[float, float, float]]:
    """Labels (X, Y, Z) of an existing label file (values checked against
    ``classes``) and its zooms."""
    from ideal_mm.datasets.io import read_nifti_frame, read_nifti_raw_label
    if tuple(classes) == ACDC_CLASSES:
        arr, spacing, image = read_nifti_frame(path, is_label=True)
    else:
        import nibabel as nib
        arr, image = read_nifti_raw_label(path, classes, None), nib.load(path)
    zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    zooms = zooms + (1.0, ) * (3 - len(zooms))
    return np.transpose(arr, (1, 2, 0)), zooms


def format_volumes(volumes: Dict[str, float]) -> str:
    """``LV 123.4 ml, RV 98.7 ml, Myo 110.2 ml`` (any classes)."""
    return ', '.join(f'{k} {v:.1f} ml' for k, v in volumes.items())


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Segment NIfTI volumes (cardiac MRI) with a trained model')
    parser.add_argument('config', help='the config the model was trained with')
    parser.add_argument('checkpoint', help='checkpoint (.pth)')
    parser.add_argument(
        'input', help='NIfTI file, folder of NIfTI files, ACDC patient '
        'folder or ACDC data root')
    parser.add_argument('--out-dir', required=True,
                        help='folder for the predicted label maps')
    parser.add_argument('--device', default='cpu',
                        help="'cpu' (default), 'cuda' or 'cuda:N'")
    parser.add_argument('--tta', action='store_true',
                        help='average over identity, horizontal and vertical '
                        'flips')
    parser.add_argument('--show-dir',
                        help='also save one PNG montage per volume here')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing outputs (default: keep them)')
    parser.add_argument('--name-template', default='{name}_pred.nii.gz',
                        help="output file name; {name} is the input's name "
                        "without extension (default '{name}_pred.nii.gz')")
    parser.add_argument('--batch-size', type=int, default=16,
                        help='slices per forward pass (default 16)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run inference; 0 when every volume succeeded, 1 otherwise."""
    args = parse_args(argv)
    from tqdm import tqdm

    from ideal_mm.apis import init_model, load_volume, segment_volume
    from ideal_mm.evaluation.clinical import (cardiac_function,
                                              format_function,
                                              label_volumes_ml)
    if args.batch_size < 1:
        raise ConfigError(f'--batch-size must be >= 1, got {args.batch_size}')
    if osp.exists(args.out_dir) and not osp.isdir(args.out_dir):
        raise DataError(f'--out-dir {args.out_dir}: exists and is not a '
                        'folder')
    inputs = collect_inputs(args.input)
    assign_outputs(inputs, args.out_dir, args.name_template)
    model = init_model(args.config, args.checkpoint, device=args.device)
    meta = model.dataset_meta
    classes = tuple(meta['classes'])
    acdc = classes == ACDC_CLASSES
    structures = None if acdc else {
        name: i for i, name in enumerate(classes) if i > 0}
    if not acdc and inputs.patients:
        print('ejection fractions are ACDC-only (the model predicts '
              f'{", ".join(classes[1:])}, not RV, Myo, LV): only volumes in ml '
              'are reported')
    os.makedirs(args.out_dir, exist_ok=True)
    failures = list(inputs.failures)

    for job in tqdm(inputs.jobs, desc='segmenting', unit='vol'):
        try:
            png = (osp.join(args.show_dir, job.name + '.png')
                   if args.show_dir else None)
            kept = osp.exists(job.out_file) and not args.overwrite
            if kept:
                job.labels, job.zooms = read_labels(job.out_file, classes)
                tqdm.write(f'{job.name}: {job.out_file} exists, kept (pass '
                           '--overwrite to replace it)')
            else:
                labels = segment_volume(model,
                                        list(job.img_files) or job.img_file,
                                        batch_size=args.batch_size,
                                        tta=args.tta)
                import nibabel as nib
                reference = nib.load(job.img_file)
                write_label_nifti(labels, reference, job.out_file)
                job.labels = labels
                zooms = tuple(float(z)
                              for z in reference.header.get_zooms()[:3])
                job.zooms = zooms + (1.0, ) * (3 - len(zooms))
            volumes = label_volumes_ml(job.labels, job.zooms, structures)
            frame = f' ({job.frame})' if job.frame else ''
            tqdm.write(f'{job.name}{frame}: {format_volumes(volumes)} -> '
                       f'{job.out_file}')
            if png and (args.overwrite or not osp.exists(png)):
                image, _, _, _ = load_volume(list(job.img_files)
                                             or job.img_file)
                if image.ndim == 4:  # multi-channel: show channel 0
                    image = image[..., 0]
                depth, height, width = image.shape
                pred = np.transpose(
                    job.labels.reshape(height, width, depth), (2, 0, 1))
                gt = None
                if job.gt_file:
                    from ideal_mm.datasets.io import read_nifti_frame
                    try:
                        gt, _, _ = read_nifti_frame(job.gt_file,
                                                    is_label=True)
                    except DataError:  # not ACDC labels: show none
                        gt = None
                    if gt is not None and gt.shape != image.shape:
                        gt = None
                from ideal_mm.apis.visualize import save_volume_montage
                save_volume_montage(
                    png, image, pred, meta['palette'], meta['classes'], gt=gt,
                    title=f'{job.name}: {format_volumes(volumes)}')
        except (DataError, OSError) as err:
            job.labels = None
            failures.append((job.img_file, str(err)))
            tqdm.write(f'{job.name}: FAILED: {err}')

    for pid, frames in (inputs.patients.items() if acdc else ()):
        ed, es = frames['ED'], frames['ES']
        if ed.labels is None or es.labels is None:
            print(f'{pid}: no ejection fraction (a frame failed)')
            continue
        pred_fn = cardiac_function(ed.labels, es.labels, ed.zooms, es.zooms)
        print(f'{pid} prediction: {format_function(pred_fn)}')
        if ed.gt_file and es.gt_file:
            try:
                ed_gt, ed_zooms = read_labels(ed.gt_file)
                es_gt, es_zooms = read_labels(es.gt_file)
                gt_fn = cardiac_function(ed_gt, es_gt, ed_zooms, es_zooms)
                print(f'{pid} ground truth: {format_function(gt_fn)}')
            except DataError as err:
                failures.append((ed.gt_file, str(err)))

    done = len(inputs.jobs) - sum(1 for j in inputs.jobs if j.labels is None)
    print(f'{done} of {len(inputs.jobs)} volume(s) segmented into '
          f'{args.out_dir}')
    if failures:
        print(f'{len(failures)} input(s) failed:', file=sys.stderr)
        for path, message in failures:
            print(f'  {path}: {message}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    run_cli(main)
