"""Training-speed benchmark of a config: model only, full runner, data, memory.

    python tools/analysis/benchmark.py CONFIG [--amp] [--channels-last]
        [--iters N] [--warmup N] [--device cpu|cuda] [--batch-size B]
        [--crop H W] [--num-workers N] [--inference] [--cfg-options k=v ...]

Prints, in one run:

(a) model only: ``model.train_step`` on one synthetic batch of the config's
    batch size and crop (made by the config's own train pipeline, minus its
    loading step, from random slices; already on the device), with the
    config's optimizer wrapper; images/s from the median step time;
(b) full runner: mmengine's Runner built from the config (temporary work
    dir, validation and checkpoints off) training ``warmup + iters``
    iterations with the real data pipeline; images/s from the median time
    between consecutive iterations after the warm-up, plus the share of the
    iteration spent waiting for data (IterTimerHook's data_time);
(c) data pipeline: samples/s of one worker (``dataset[i]`` in this process,
    one thread, random order, with the time of every transform) and through
    the configured DataLoader (num_workers, after the first batch);
(d) peak memory: ``torch.cuda.max_memory_allocated`` per section on CUDA,
    the process's maximum RSS (``getrusage``) on CPU;
and, with ``--inference``, test-time inference of whole volumes through
``ideal_mm.apis.segment_volume`` (random weights; volumes from the test
split's cache). The last line is
``ratios: full/model = X.XX, data/needed = Y.YY``: (b)/(a), and (c) with the
configured workers divided by the rate the model needs, (a).

``--amp`` is bf16 autocast: mmengine's AmpOptimWrapper (dtype bfloat16) on
CUDA; on CPU mmengine refuses AmpOptimWrapper, so the model-only loop runs
under ``torch.autocast('cpu', torch.bfloat16)`` and the runner path stays
fp32 (the output says so). ``--channels-last`` applies
:func:`ideal_mm.engine.channels_last.to_channels_last` (model-only) and
``ChannelsLastHook`` (runner).

The measurements are :mod:`ideal_mm.engine.benchmark` and
:mod:`ideal_mm.apis.benchmark`; this file is the command line and the report.
"""
from __future__ import annotations

import argparse
import os
from typing import Optional, Sequence


SECTIONS = ('model', 'runner', 'data')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line (see the module docstring)."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Benchmark the training speed of a config')
    parser.add_argument('config', help='config file')
    parser.add_argument('--amp', action='store_true',
                        help='bf16 autocast (AmpOptimWrapper on CUDA)')
    parser.add_argument('--channels-last', action='store_true',
                        help='channels-last model and inputs')
    parser.add_argument('--iters', type=int, default=20,
                        help='timed iterations per section (default 20)')
    parser.add_argument('--warmup', type=int, default=5,
                        help='untimed iterations first (default 5)')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default=None,
                        help='default: cuda when available, else cpu')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="override the config's train batch size")
    parser.add_argument('--crop', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help="override the train pipeline's output size")
    parser.add_argument('--num-workers', type=int, default=None,
                        help="override the train DataLoader's num_workers")
    parser.add_argument('--data-samples', type=int, default=300,
                        help='samples timed for one worker (default 300)')
    parser.add_argument('--sections', nargs='+', choices=SECTIONS,
                        default=list(SECTIONS), help='sections to run')
    parser.add_argument('--inference', action='store_true',
                        help='also time segment_volume on test volumes')
    parser.add_argument('--inference-volumes', type=int, default=4,
                        help='volumes timed with --inference (default 4)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    args = parser.parse_args(argv)
    for name in ('iters', 'data_samples', 'inference_volumes'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    if args.batch_size is not None and args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    return args


def fmt(x: Optional[float]) -> str:
    """A ratio with two decimals, or n/a."""
    return 'n/a' if x is None else f'{x:.2f}'


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the selected sections and print the report."""
    args = parse_args(argv)
    if args.device == 'cpu':
        os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')
    # torch and mmseg only after the arguments are read (--help is instant)
    import ideal_mm
    ideal_mm.register_all_modules()
    import torch
    from mmengine.registry import init_default_scope

    from ideal_mm.engine.benchmark import (config_crop, data_rates, machine,
                                          model_only, prepare_config,
                                          runner_rate)

    from ideal_mm.errors import ConfigError
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise ConfigError('--device cuda requested but CUDA is not '
                          'available here; use --device cpu')
    cfg = prepare_config(args.config, args.cfg_options, args.batch_size,
                         args.num_workers, args.crop)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    if device == 'cuda':
        torch.backends.cudnn.benchmark = True
    batch_size = int(cfg.train_dataloader.batch_size)
    crop = config_crop(cfg)
    print(f'config: {args.config}')
    print(f'machine: {machine(device)}')
    print(f'setup: device {device}, batch {batch_size}, crop {crop[0]}x'
          f'{crop[1]}, amp {"bf16" if args.amp else "off"}, channels_last '
          f'{"on" if args.channels_last else "off"}, warmup {args.warmup}, '
          f'iters {args.iters}')
    model_res = run_res = data_res = None
    if 'model' in args.sections:
        model_res = model_only(cfg, device, batch_size, crop, args.iters,
                               args.warmup, args.amp, args.channels_last)
        print(f"(a) model only: {model_res['rate']:.1f} images/s "
              f"({model_res['step_ms']:.1f} ms/step median, "
              f"{model_res['precision']}, loss {model_res['loss']:.3f})")
        print(f"(d) peak memory, model only: {model_res['memory']}")
    if 'runner' in args.sections:
        run_res = runner_rate(cfg, device, batch_size, args.iters,
                              args.warmup, args.amp, args.channels_last)
        wait = run_res.get('data_wait')
        wait_text = '' if wait is None else \
            f', data wait {100 * wait:.0f}% of the iteration'
        print(f"(b) full runner: {run_res['rate']:.1f} images/s "
              f"({run_res['step_ms']:.1f} ms/iter median{wait_text})")
        for note in run_res['notes']:
            print(f'    note: {note}')
        print(f"(d) peak memory, runner: {run_res['memory']}")
    if 'data' in args.sections:
        data_res = data_rates(cfg, batch_size, args.data_samples,
                              args.iters, args.warmup)
        print(f"(c) data pipeline, 1 worker in-process: "
              f"{data_res['worker']:.1f} samples/s (median of 5 chunks, "
              f"{data_res['dataset_len']} samples in the dataset)")
        parts = ', '.join(f'{k} {v:.0f}'
                          for k, v in data_res['per_transform'].items())
        if parts:
            print(f'    per transform (us/sample): {parts}')
        print(f"(c) data pipeline, DataLoader with {data_res['workers']} "
              f"workers: {data_res['loader']:.1f} samples/s")
    if args.inference:
        from ideal_mm.apis.benchmark import inference_rate
        inf = inference_rate(cfg, device, args.inference_volumes,
                             args.channels_last)
        print(f"inference: {inf['volumes_per_s']:.2f} volumes/s, "
              f"{inf['slices_per_s']:.1f} slices/s (segment_volume, "
              f"{inf['volumes']} volumes, {inf['median_s'] * 1e3:.0f} ms "
              f"median per volume)")
    full = None if not (model_res and run_res) else \
        run_res['rate'] / model_res['rate']
    data = None if not (model_res and data_res) else \
        data_res['loader'] / model_res['rate']
    print(f'ratios: full/model = {fmt(full)}, data/needed = {fmt(data)}')
    return 0


if __name__ == '__main__':
    from ideal_mm.errors import run_cli
    run_cli(main)
