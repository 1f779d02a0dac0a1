"""Probe a frozen encoder without fine-tuning: linear probe and dense kNN label
transfer.

    python tools/analysis/probe_encoder.py CONFIG ENCODER [--work-dir DIR]
    [--out JSON]
        [--iters 300] [--split test] [--seed 0] [--knn-k 20] [--knn-stride 8]
        [--no-knn] [--cfg-options k=v ...]

CONFIG is a fine-tuning or supervised config: its ``model.backbone`` (or
``model.segmentor.backbone``) is the encoder, the labelled slices of
``train_dataloader.dataset`` train the probes and
``<split>_dataloader.dataset`` (whole volumes, through its pipeline) scores
them per volume. ENCODER is a stage-1 export (``encoder.pth``) or any
checkpoint with ``backbone.*`` keys, or ``random`` for the config's random
initialisation (``--seed``), the baseline. Prints Dice per class and mean for
both probes and writes them as JSON (default ``<work_dir>/probe_<encoder
name>.json``, work dir default ``work_dirs/probe_<config name>``). The method
is described in :mod:`ideal_mm.evaluation.probe`.
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import time
from typing import Optional, Sequence

from ideal_mm.errors import CheckpointError, ConfigError, run_cli


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Linear probe and kNN label transfer of a frozen encoder')
    parser.add_argument(
        'config', help='fine-tuning / supervised config (encoder + data)')
    parser.add_argument(
        'encoder',
        help="encoder.pth, a checkpoint with backbone.* keys, or "
        "'random'")
    parser.add_argument(
        '--work-dir',
        help='folder of the JSON output (default '
        'work_dirs/probe_<config name>)')
    parser.add_argument(
        '--out', help='JSON file (default <work_dir>/probe_<encoder>.json)')
    parser.add_argument(
        '--iters', type=int, default=300, help='linear probe Adam steps')
    parser.add_argument(
        '--lr', type=float, default=0.01, help='linear probe learning rate')
    parser.add_argument(
        '--split',
        default='test',
        choices=['test', 'val'],
        help='evaluation split (default test)')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the random init and of the probe (default 0)')
    parser.add_argument(
        '--knn-k', type=int, default=20, help='kNN neighbours (default 20)')
    parser.add_argument(
        '--knn-stride',
        type=int,
        default=8,
        help='kNN cell size in input pixels (default 8)')
    parser.add_argument(
        '--no-knn', action='store_true', help='skip the kNN transfer')
    parser.add_argument(
        '--max-train-slices',
        type=int,
        default=None,
        help='use at most this many labelled train slices')
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress bars')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings (e.g. data_root of the dataloaders)')
    return parser.parse_args(argv)


def _write_json(path: str, payload: dict) -> None:
    """Write ``payload`` (NaN as null) to ``path`` atomically."""
    from ideal_mm.atomic_files import atomic_write_text
    from ideal_mm.evaluation.report import nan_to_none
    atomic_write_text(path, json.dumps(nan_to_none(payload), indent=2))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Probe ENCODER on CONFIG's data; print the table, write the JSON."""
    args = parse_args(argv)
    import ideal_mm
    ideal_mm.register_all_modules()
    from mmengine.config import Config

    from ideal_mm.evaluation.probe import (build_probe_encoder,
                                           format_probe_table, load_probe_data,
                                           probe_encoder)
    if not osp.isfile(args.config):
        raise ConfigError(f'config {args.config} does not exist')
    if args.encoder != 'random' and not osp.isfile(args.encoder):
        raise CheckpointError(
            f'encoder file {args.encoder} does not exist; give a stage-1 '
            "export (work_dirs/<pretrain>/encoder.pth) or 'random'")
    if args.iters < 1:
        raise ConfigError(f'--iters must be >= 1, got {args.iters}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    config_name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', f'probe_{config_name}')
    enc_name = 'random' if args.encoder == 'random' else osp.splitext(
        osp.basename(args.encoder))[0]
    out = args.out or osp.join(work_dir, f'probe_{enc_name}.json')

    start = time.perf_counter()
    encoder, info = build_probe_encoder(cfg, args.encoder,
                                        args.seed)  # checks the file first
    data = load_probe_data(cfg, args.split, args.max_train_slices,
                           not args.no_progress)
    result = probe_encoder(
        encoder,
        data,
        iters=args.iters,
        lr=args.lr,
        seed=args.seed,
        knn=not args.no_knn,
        knn_k=args.knn_k,
        knn_stride=args.knn_stride,
        progress=not args.no_progress)
    result = dict(
        config=osp.abspath(args.config),
        encoder=info['encoder']
        if info['encoder'] == 'random' else osp.abspath(info['encoder']),
        missing_keys=info['missing_keys'],
        seconds=round(time.perf_counter() - start, 2),
        **result)
    print(f'encoder: {info["encoder"]}' +
          (f' ({len(info["missing_keys"])} encoder keys not in the file kept '
           'their random values)' if info['missing_keys'] else ''))
    print(f'{result["num_train_slices"]} labelled train slices, '
          f'{result["split"]}: '
          f'{result["num_test_slices"]} slices; per-volume Dice:')
    print(format_probe_table(result))
    _write_json(out, result)
    print(f'written to {out}')
    return 0


if __name__ == '__main__':
    run_cli(main)
