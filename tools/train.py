"""Train a model from an ideal_mm / mmseg config (mmseg's command line).

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp]
                          [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import ideal_mm  # noqa: E402,F401  (compat first, registers components)
from ideal_mm.engine.runner_config import (  # noqa: E402
    check_checkpoint_fits, config_errors, enable_amp, enable_channels_last,
    load_config,
    resolve_work_dir, set_metric_out_dirs, setup_cpu_distributed,
    validate_config)
from ideal_mm.engine.nonfinite import ensure_nonfinite_hook  # noqa: E402
from ideal_mm.engine.resume import ensure_iter_seed_hook  # noqa: E402
from ideal_mm.datasets.config_checks import check_dataset_config  # noqa: E402
from ideal_mm.errors import run_cli  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='resume from the latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bf16 automatic mixed precision (AmpOptimWrapper)')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='channels_last memory format for the model and its inputs')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=1000')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> int:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    work_dir = resolve_work_dir(cfg, args.config, args.work_dir)
    # Everything a config can get wrong fails here, before the Runner
    # creates the work dir.
    validate_config(cfg)
    check_dataset_config(cfg)
    cfg.resume = args.resume or cfg.get('resume', False)
    if cfg.get('load_from') and not cfg.resume:
        check_checkpoint_fits(cfg, cfg.load_from, 'load_from')
    set_metric_out_dirs(cfg, work_dir)
    ensure_nonfinite_hook(cfg)
    ensure_iter_seed_hook(cfg)  # randomness.deterministic: exact resume
    # --amp / --channels-last or the config switches `amp` / `channels_last`
    if args.amp or cfg.get('amp', False):
        enable_amp(cfg)
    if args.channels_last or cfg.get('channels_last', False):
        enable_channels_last(cfg)
    setup_cpu_distributed(cfg)
    with config_errors():
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else \
            RUNNERS.build(cfg)
        runner.train()
    # Tear the process group down before interpreter exit: gloo's transport
    # threads left alive at exit were seen to abort a rank with
    # "terminate called without an active exception" after training ended.
    import torch.distributed as torch_dist
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
    return 0


if __name__ == '__main__':
    run_cli(main)
