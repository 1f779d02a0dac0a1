"""Start-up time of the command lines, and evaluate.py against medpy.

    python tools/analysis/benchmark_cli.py [--runs 5] [--repo ROOT]
        [--sections help evaluate] [--volumes 12]

``help``: the median wall time of ``python TOOL --help`` (a fresh process,
``--runs`` times) for every script under ``tools/`` with a ``__main__``
block. ``evaluate``: phantom ACDC label maps (``--volumes`` ED/ES ground
truths of ``make_phantom_acdc``'s default size, predictions = the ground
truth shifted by 1-2 voxels in-plane), then the median wall time of the
whole ``tools/evaluate.py`` process against medpy's ``dc + jc + hd95 +
asd`` per class on the same arrays (in one process, loading excluded:
medpy's metric time only). ``--repo`` times another checkout (e.g. the
commit before a change) with the same interpreter.

A benchmark, not a test: timings depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import glob
import os
import os.path as osp
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def tool_scripts(repo: str) -> List[str]:
    """Scripts under ``repo/tools`` that run as programs, relative paths."""
    out = []
    for path in sorted(
            glob.glob(osp.join(repo, 'tools', '**', '*.py'), recursive=True)):
        with open(path) as f:
            if "__name__ == '__main__'" in f.read():
                out.append(osp.relpath(path, repo))
    return out


def process_time(cmd: Sequence[str], repo: str,
                 runs: int) -> Tuple[float, float]:
    """Median wall time and median CPU time (user + system; less sensitive
    to other processes on a shared machine) in s of ``cmd`` as a fresh
    process in ``repo``; raises RuntimeError when it fails."""
    env = dict(os.environ, PYTHONPATH=repo)
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(
            list(cmd), cwd=repo, env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime -
                    before.ru_stime)
        if proc.returncode:
            raise RuntimeError(f'{" ".join(cmd)} failed:\n{proc.stderr}')
    return statistics.median(walls), statistics.median(cpus)


def make_label_maps(out_dir: str, volumes: int) -> Dict[str, str]:
    """Phantom ground truths and shifted predictions; the two folders."""
    import nibabel as nib
    import numpy as np

    from ideal_mm.datasets.phantom import make_phantom_acdc
    root = osp.join(out_dir, 'acdc')
    make_phantom_acdc(root, num_patients=(volumes + 1) // 2, seed=0)
    gts = sorted(
        glob.glob(osp.join(root, 'training', '*',
                           '*_frame??_gt.nii.gz')))[:volumes]
    dirs = dict(gt=osp.join(out_dir, 'gt'), pred=osp.join(out_dir, 'pred'))
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    for i, path in enumerate(gts):
        img = nib.load(path)
        gt = np.asarray(img.dataobj).astype(np.uint8)
        pred = np.roll(gt, (1 + i % 2, -(1 + (i + 1) % 2)), axis=(0, 1))
        name = osp.basename(path)[:-len('_gt.nii.gz')]
        nib.save(
            nib.Nifti1Image(gt, img.affine, img.header),
            osp.join(dirs['gt'], f'{name}_gt.nii.gz'))
        nib.save(
            nib.Nifti1Image(pred, img.affine, img.header),
            osp.join(dirs['pred'], f'{name}_pred.nii.gz'))
    return dirs


def medpy_time(dirs: Dict[str, str], runs: int) -> Tuple[float, float]:
    """Median wall and CPU time (s) over ``runs`` of medpy's metrics of
    all volumes."""
    import nibabel as nib
    import numpy as np

    from ideal_mm.analysis.metric_benchmark import medpy_metrics
    cases = []
    for pred_path in sorted(glob.glob(osp.join(dirs['pred'], '*.nii.gz'))):
        name = osp.basename(pred_path)[:-len('_pred.nii.gz')]
        gt_img = nib.load(osp.join(dirs['gt'], f'{name}_gt.nii.gz'))
        cases.append((np.asarray(nib.load(pred_path).dataobj),
                      np.asarray(gt_img.dataobj),
                      tuple(float(z) for z in gt_img.header.get_zooms())))
    walls, cpus = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        for pred, gt, spacing in cases:
            medpy_metrics(pred, gt, spacing)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the selected sections and print one line per measurement."""
    parser = argparse.ArgumentParser(
        description='Start-up time of tools/ and evaluate.py vs medpy')
    parser.add_argument(
        '--runs',
        type=int,
        default=5,
        help='processes per measurement (median)')
    parser.add_argument(
        '--repo',
        default=REPO,
        help='checkout whose tools/ to time (default: this)')
    parser.add_argument(
        '--sections',
        nargs='+',
        default=['help', 'evaluate'],
        choices=['help', 'evaluate'])
    parser.add_argument(
        '--volumes',
        type=int,
        default=12,
        help='label maps for the evaluate section')
    args = parser.parse_args(argv)
    repo = osp.abspath(args.repo)
    print(f'machine: {platform.platform()}, {os.cpu_count()} CPUs, Python '
          f'{platform.python_version()}; repo {repo}; median of {args.runs} '
          'runs')
    py = sys.executable
    if 'help' in args.sections:
        for script in tool_scripts(repo):
            wall, cpu = process_time([py, script, '--help'], repo, args.runs)
            print(f'{script + " --help":46s} wall {wall:5.2f} s, '
                  f'cpu {cpu:5.2f} s')
    if 'evaluate' in args.sections:
        with tempfile.TemporaryDirectory() as tmp:
            dirs = make_label_maps(tmp, args.volumes)
            cmd = [
                py, 'tools/evaluate.py', '--pred-dir', dirs['pred'],
                '--gt-dir', dirs['gt'], '--out',
                osp.join(tmp, 'summary.json')
            ]
            t_eval = process_time(cmd, repo, args.runs)
            t_medpy = medpy_time(dirs, args.runs)
        print(f'evaluate.py, {args.volumes} volumes (whole process): wall '
              f'{t_eval[0]:6.2f} s, cpu {t_eval[1]:6.2f} s')
        print(f'medpy dc+jc+hd95+asd, same volumes (metrics only): wall '
              f'{t_medpy[0]:6.2f} s, cpu {t_medpy[1]:6.2f} s')
        print(f'evaluate.py / medpy: wall {t_eval[0] / t_medpy[0]:.2f}, '
              f'cpu {t_eval[1] / t_medpy[1]:.2f}')
    return 0


if __name__ == '__main__':
    from ideal_mm.errors import run_cli
    run_cli(main)
