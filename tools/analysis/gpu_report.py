"""GPU report: every training stage on one device, one table (issue 26).

    python tools/analysis/gpu_report.py --out DIR          # on a GPU machine
    python tools/analysis/gpu_report.py --out DIR --dry-run-cpu

Supervised UNet, IDEAL pre-training, IDEAL fine-tuning and its BCP option,
each in fp32 and with ``--amp --channels-last``: model-only images/s, the
full ``tools/train.py`` loop's images/s (real DataLoader, hooks, logging,
validation), their ratio, the data-wait share and the peak memory; then a
2-GPU DDP run through ``tools/dist_train.sh`` where two GPUs exist. Writes
DIR/gpu_report.md, DIR/gpu_report.json and DIR/logs/. ``--dry-run-cpu``:
tiny sizes on the CPU (fp32 only), what the test suite runs.

Before anything else the modules ideal_mm needs are imported one by one and
every one that is missing or broken is printed (exit status 2): a device
image without them cannot run the report; ``--check-imports`` stops there.
The measurement is :func:`ideal_mm.analysis.gpu_report.run_report`.
"""
from __future__ import annotations

import argparse
import importlib
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple

#: (import name, pip distribution) of everything a training run imports.
#: Checked before ``import ideal_mm``, which would fail on the first one.
REQUIRED: Tuple[Tuple[str, str], ...] = (
    ('numpy', 'numpy'),
    ('torch', 'torch'),
    ('cv2', 'opencv-python'),
    ('scipy', 'scipy'),
    ('matplotlib', 'matplotlib'),
    ('PIL', 'pillow'),
    ('yaml', 'pyyaml'),
    ('tqdm', 'tqdm'),
    ('packaging', 'packaging'),
    ('addict', 'addict'),
    ('yapf', 'yapf'),
    ('platformdirs', 'platformdirs'),
    ('termcolor', 'termcolor'),
    ('rich', 'rich'),
    ('prettytable', 'prettytable'),
    ('wcwidth', 'wcwidth'),
    ('ftfy', 'ftfy'),
    ('regex', 'regex'),
    ('nibabel', 'nibabel'),
    ('mmengine', 'mmengine==0.10.7'),
    ('mmcv', 'mmcv-lite==2.1.0'),
    ('mmseg', 'mmsegmentation==1.2.2'),
    ('ideal_mm', 'none: this checkout on PYTHONPATH'),
)


def missing_modules(
        required: Sequence[Tuple[str, str]] = REQUIRED) -> List[str]:
    """``'name (pip: dist): error'`` for every module that fails to import."""
    missing = []
    for name, dist in required:
        try:
            importlib.import_module(name)
        except Exception as err:  # missing, or present but broken
            missing.append(f'{name} (pip: {dist}): {type(err).__name__}: '
                           f'{err}')
    return missing


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description='Measure every training stage on a GPU (one table)')
    parser.add_argument(
        '--out',
        required=True,
        help='folder for gpu_report.md/.json and logs/')
    parser.add_argument(
        '--work-root',
        help='data, derived configs and work dirs (default '
        '<out>/../gpu_report_work; keep it out of $OUT)')
    parser.add_argument(
        '--dry-run-cpu',
        action='store_true',
        help='tiny sizes on the CPU, fp32 only')
    parser.add_argument(
        '--stages',
        nargs='+',
        metavar='NAME[=CONFIG]',
        help='stages to measure: default names '
        '(supervised pretrain finetune bcp) or NAME=CONFIG')
    parser.add_argument(
        '--budget',
        type=float,
        help='overall seconds for all parts (default 450 on '
        'a GPU)')
    parser.add_argument(
        '--workers',
        type=int,
        help="DataLoader workers (default: the config's)")
    parser.add_argument(
        '--model-timeout', type=float, help='seconds per model-only part')
    parser.add_argument(
        '--loop-timeout', type=float, help='seconds per full-loop part')
    parser.add_argument(
        '--check-imports',
        action='store_true',
        help='only check the imports (exit 0 or 2)')
    return parser.parse_args(argv)


def preflight() -> int:
    """Print every module that does not import; 2 if any, else 0."""
    missing = missing_modules()
    if not missing:
        return 0
    print(
        'gpu_report: cannot run, these modules do not import:',
        file=sys.stderr)
    for line in missing:
        print(f'  {line}', file=sys.stderr)
    print(
        'carry their wheels in .wheels/ (make gpu-wheels; see '
        'docs/benchmarks.md "GPU report")',
        file=sys.stderr)
    return 2


def main() -> int:
    """Run the report (after :func:`preflight`), print the table."""
    args = parse_args()
    import torch

    from ideal_mm.analysis.gpu_report import (DEFAULT_STAGES, dry_run_settings,
                                              gpu_settings, run_report)
    from ideal_mm.errors import ConfigError
    if args.dry_run_cpu:
        settings, mode = dry_run_settings(), 'CPU dry run'
    elif not torch.cuda.is_available():
        raise ConfigError('no CUDA device here: the report measures a GPU; '
                          'use --dry-run-cpu to check it on a CPU')
    else:
        settings, mode = gpu_settings(), 'GPU'
    for key, value in (('budget_s', args.budget), ('workers', args.workers),
                       ('model_timeout', args.model_timeout),
                       ('loop_timeout', args.loop_timeout)):
        if value is not None:
            setattr(settings, key, value)
    stages = None
    if args.stages:
        stages = {}
        for item in args.stages:
            name, _, cfg = item.partition('=')
            if not cfg:
                if name not in DEFAULT_STAGES:
                    raise ConfigError(
                        f'--stages: unknown stage {name!r}; use one of '
                        f'{", ".join(DEFAULT_STAGES)} or NAME=CONFIG')
                cfg = DEFAULT_STAGES[name]
            elif not osp.isfile(cfg):
                raise ConfigError(f'--stages {item}: no config file {cfg!r}')
            stages[name] = osp.abspath(cfg) if osp.isfile(cfg) else cfg
    report = run_report(args.out, settings, stages, args.work_root, mode)
    bad = [
        r for r in report.rows if r['model'].get('status') == 'failed'
        or r['loop'].get('status') == 'failed'
    ]
    print(f'gpu_report: wrote {osp.join(args.out, "gpu_report.md")} '
          f'({len(report.rows) - len(bad)}/{len(report.rows)} rows without '
          'a failed part)')
    return 0


if __name__ == '__main__':
    if {'-h', '--help'} & set(sys.argv[1:]):
        parse_args()  # answers --help before the import check
    if preflight():
        sys.exit(2)
    if '--check-imports' in sys.argv[1:]:
        print('gpu_report: every required module imports')
        sys.exit(0)
    from ideal_mm.errors import run_cli  # imports ideal_mm: after the check
    run_cli(main)
