"""Segment NIfTI volumes with a trained model; report volumes and ejection
fractions.

    python tools/infer.py CONFIG CHECKPOINT INPUT --out-dir DIR
        [--device cuda] [--tta] [--show-dir PNG_DIR] [--overwrite]
        [--name-template '{name}_pred.nii.gz'] [--batch-size 16]

INPUT is a NIfTI file (3D, or 4D with channels last), a folder of them, a
folder of nnU-Net images ``<case>_0000.nii.gz`` (or an nnU-Net data set
root), an ACDC patient folder (``Info.cfg``) or an ACDC data root; the rules
are in :mod:`ideal_mm.apis.inputs`, the work in :mod:`ideal_mm.apis`.

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
import os.path as osp
import sys
from typing import Optional, Sequence

from ideal_mm.errors import ConfigError, DataError, run_cli


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments (add_argument calls alike in shape only)."""
    parser = argparse.ArgumentParser(
        description='Segment NIfTI volumes (cardiac MRI) with a trained model')
    parser.add_argument('config', help='the config the model was trained with')
    parser.add_argument('checkpoint', help='checkpoint (.pth)')
    parser.add_argument(
        'input',
        help='NIfTI file, folder of NIfTI files, ACDC patient '
        'folder or ACDC data root')
    parser.add_argument(
        '--out-dir', required=True, help='folder for the predicted label maps')
    parser.add_argument(
        '--device', default='cpu', help="'cpu' (default), 'cuda' or 'cuda:N'")
    parser.add_argument(
        '--tta',
        action='store_true',
        help='average over identity, horizontal and vertical '
        'flips')
    parser.add_argument(
        '--show-dir', help='also save one PNG montage per volume here')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace existing outputs (default: keep them)')
    parser.add_argument(
        '--name-template',
        default='{name}_pred.nii.gz',
        help="output file name; {name} is the input's name "
        "without extension (default '{name}_pred.nii.gz')")
    parser.add_argument(
        '--batch-size',
        type=int,
        default=16,
        help='slices per forward pass (default 16)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run inference; 0 when every volume succeeded, 1 otherwise."""
    args = parse_args(argv)
    # torch and mmseg only after the arguments are read (--help is instant)
    from tqdm import tqdm

    import ideal_mm
    ideal_mm.register_all_modules()
    from ideal_mm.apis import init_model
    from ideal_mm.apis.inputs import assign_outputs, collect_inputs
    from ideal_mm.apis.volume_jobs import (cardiac_reports, format_volumes,
                                           save_job_montage, segment_job)
    from ideal_mm.datasets.io import ACDC_CLASSES
    from ideal_mm.evaluation.clinical import format_function, label_volumes_ml
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
        name: i
        for i, name in enumerate(classes) if i > 0
    }
    if not acdc and inputs.patients:
        print(
            'ejection fractions are ACDC-only (the model predicts '
            f'{", ".join(classes[1:])}, not RV, Myo, LV): only volumes in ml '
            'are reported')
    os.makedirs(args.out_dir, exist_ok=True)
    failures = list(inputs.failures)

    from ideal_mm.progress import progress_bar
    for job in progress_bar(inputs.jobs, desc='segmenting', unit='vol'):
        try:
            png = (
                osp.join(args.show_dir, job.name +
                         '.png') if args.show_dir else None)
            if segment_job(model, job, args.overwrite, args.batch_size,
                           args.tta):
                tqdm.write(f'{job.name}: {job.out_file} exists, kept (pass '
                           '--overwrite to replace it)')
            volumes = label_volumes_ml(job.labels, job.zooms, structures)
            frame = f' ({job.frame})' if job.frame else ''
            tqdm.write(f'{job.name}{frame}: {format_volumes(volumes)} -> '
                       f'{job.out_file}')
            if png and (args.overwrite or not osp.exists(png)):
                save_job_montage(job, png, meta,
                                 f'{job.name}: {format_volumes(volumes)}')
        except (DataError, OSError) as err:
            job.labels = None
            failures.append((job.img_file, str(err)))
            tqdm.write(f'{job.name}: FAILED: {err}')

    for pid, pred_fn, gt_fn, failure in (cardiac_reports(inputs) if acdc else
                                         ()):
        if pred_fn is None:
            print(f'{pid}: no ejection fraction (a frame failed)')
            continue
        print(f'{pid} prediction: {format_function(pred_fn)}')
        if gt_fn is not None:
            print(f'{pid} ground truth: {format_function(gt_fn)}')
        if failure:
            failures.append(failure)

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
