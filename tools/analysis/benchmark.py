"""Training-speed benchmark of a config: model only, full runner, data, memory.

    python tools/analysis/benchmark.py CONFIG [--amp] [--channels-last]
        [--compile] [--threads N]
        [--ab [--ab-crop H W] [--ab-batch B] [--ab-threads N]] [--iters N]
        [--warmup N] [--device cpu|cuda] [--batch-size B]
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
``ChannelsLastHook`` (runner). ``--compile`` compiles the backbone and
decode heads in place (``nn.Module.compile``, model-only section; the first
step's time, the compile cost, is printed). ``--threads N`` sets
``torch.set_num_threads``.

``--ab`` first times two models alternately, one step of each in turn
(``--iters`` rounds after ``--warmup``): the baseline (fp32, no
channels-last, no compile, the config's batch and crop) and the options
given (``--amp``, ``--channels-last``, ``--compile``, ``--ab-crop``,
``--ab-batch``, ``--ab-threads``), and prints the median step of each and
the speed-up (median over rounds of baseline/options, per step and per
image). On a
machine shared with other jobs the interleaving puts both under the same
load, so the ratio is the figure to quote, not the absolute times. With
``--ab`` the ab lines take the place of section (a).

The measurements are :mod:`ideal_mm.engine.benchmark` and
:mod:`ideal_mm.apis.benchmark`; this file is the command line and the report.
"""
from __future__ import annotations

import argparse
import os
from typing import Any, Optional, Sequence, Tuple

SECTIONS = ('model', 'runner', 'data')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line (see the module docstring)."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Benchmark the training speed of a config')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bf16 autocast (AmpOptimWrapper on CUDA)')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='channels-last model and inputs')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile backbone and heads (model only)')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch.set_num_threads (default: torch\'s)')
    parser.add_argument(
        '--ab',
        action='store_true',
        help='model only: baseline and options one step '
        'each in turn (--iters rounds)')
    parser.add_argument(
        '--ab-crop',
        type=int,
        nargs=2,
        default=None,
        metavar=('H', 'W'),
        help='--ab: the options\' crop')
    parser.add_argument(
        '--ab-batch',
        type=int,
        default=None,
        help='--ab: the options\' batch size')
    parser.add_argument(
        '--ab-threads',
        type=int,
        default=None,
        help='--ab: the options\' torch threads')
    parser.add_argument(
        '--ab-width',
        type=int,
        default=None,
        help='--ab: the options\' encoder base_channels '
        '(every head follows, as a study spec\'s '
        'model_width)')
    parser.add_argument(
        '--iters',
        type=int,
        default=20,
        help='timed iterations per section (default 20)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=5,
        help='untimed iterations first (default 5)')
    parser.add_argument(
        '--device',
        choices=['cpu', 'cuda'],
        default=None,
        help='default: cuda when available, else cpu')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=None,
        help="override the config's train batch size")
    parser.add_argument(
        '--crop',
        type=int,
        nargs=2,
        default=None,
        metavar=('H', 'W'),
        help="override the train pipeline's output size")
    parser.add_argument(
        '--num-workers',
        type=int,
        default=None,
        help="override the train DataLoader's num_workers")
    parser.add_argument(
        '--data-samples',
        type=int,
        default=300,
        help='samples timed for one worker (default 300)')
    parser.add_argument(
        '--sections',
        nargs='+',
        choices=SECTIONS,
        default=list(SECTIONS),
        help='sections to run')
    parser.add_argument(
        '--inference',
        action='store_true',
        help='also time segment_volume on test volumes')
    parser.add_argument(
        '--inference-volumes',
        type=int,
        default=4,
        help='volumes timed with --inference (default 4)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    args = parser.parse_args(argv)
    for name in ('iters', 'data_samples', 'inference_volumes'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    if args.threads is not None and args.threads < 1:
        parser.error('--threads must be >= 1')
    for name in ('ab_batch', 'ab_threads', 'ab_width'):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.batch_size is not None and args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    return args


def fmt(x: Optional[float]) -> str:
    """A ratio with two decimals, or n/a."""
    return 'n/a' if x is None else f'{x:.2f}'


def ab_compare(cfg: Any, device: str, batch_size: int, crop: Tuple[int, int],
               args: argparse.Namespace) -> float:
    """Model-only timing of the baseline (fp32, no channels-last, no
    compile, the config's batch and crop) against the options given, one
    step of each in turn (:func:`ideal_mm.engine.benchmark.interleaved`);
    prints both and the speed-up per step and per image; returns the
    per-step speed-up (baseline step / options step, median over
    rounds)."""
    import copy

    from ideal_mm.engine.benchmark import (build_step, interleaved,
                                           set_pipeline_crop, train_datasets)
    b_batch = args.ab_batch or batch_size
    b_crop = tuple(args.ab_crop) if args.ab_crop else crop
    b_cfg = copy.deepcopy(cfg)
    for ds in train_datasets(b_cfg):  # the pipeline makes the batch
        set_pipeline_crop(ds['pipeline'], b_crop)
    from ideal_mm.engine.model_width import fit_size_divisor, scale_model_width
    if args.ab_width:
        scale_model_width(b_cfg.model, args.ab_width)
    for c, hw in ((cfg, crop), (b_cfg, b_crop)):  # no padding back up
        fit_size_divisor(c.model, hw)
    base, a_info = build_step(cfg, device, batch_size, crop)
    opt, info = build_step(b_cfg, device, b_batch, b_crop, args.amp,
                           args.channels_last, args.compile)
    if args.ab_threads:
        import torch
        own = torch.get_num_threads()
        inner = opt

        def opt() -> float:
            torch.set_num_threads(args.ab_threads)
            try:
                return inner()
            finally:
                torch.set_num_threads(own)

    res = interleaved([base, opt], args.iters, args.warmup)
    m0, m1 = res['median']
    ratio = res['ratio'][0]
    print(f"ab: inputs {a_info['input_shape']} vs {info['input_shape']}")
    print(f"ab: baseline batch {batch_size} {crop[0]}x{crop[1]} fp32: "
          f"{m0 * 1e3:.1f} ms/step median (first {res['first'][0]:.1f} s); "
          f"options batch {b_batch} {b_crop[0]}x{b_crop[1]} "
          f"{info['precision']}, channels_last "
          f"{'on' if args.channels_last else 'off'}, compile "
          f"{'on' if args.compile else 'off'}, threads "
          f"{args.ab_threads or 'same'}, width "
          f"{args.ab_width or 'same'}: {m1 * 1e3:.1f} ms/step "
          f"median (first {res['first'][1]:.1f} s)")
    per_image = ratio * b_batch / batch_size
    print(f'ab: speed-up baseline/options = {ratio:.2f} per step, '
          f'{per_image:.2f} per image (median over {args.iters} '
          'interleaved rounds)')
    return ratio


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
    if args.threads:
        torch.set_num_threads(args.threads)

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
          f'{"on" if args.channels_last else "off"}, compile '
          f'{"on" if args.compile else "off"}, warmup {args.warmup}, '
          f'iters {args.iters}')
    if args.ab:
        ab_compare(cfg, device, batch_size, crop, args)
    model_res = run_res = data_res = None
    if 'model' in args.sections and not args.ab:
        model_res = model_only(cfg, device, batch_size, crop, args.iters,
                               args.warmup, args.amp, args.channels_last,
                               args.compile)
        print(f"(a) model only: {model_res['rate']:.1f} images/s "
              f"({model_res['step_ms']:.1f} ms/step median, "
              f"{model_res['precision']}, loss {model_res['loss']:.3f}, "
              f"first step {model_res['first_s']:.1f} s)")
        print(f"(d) peak memory, model only: {model_res['memory']}")
    if 'runner' in args.sections:
        run_res = runner_rate(cfg, device, batch_size, args.iters, args.warmup,
                              args.amp, args.channels_last)
        wait = run_res.get('data_wait')
        wait_text = '' if wait is None else \
            f', data wait {100 * wait:.0f}% of the iteration'
        print(f"(b) full runner: {run_res['rate']:.1f} images/s "
              f"({run_res['step_ms']:.1f} ms/iter median{wait_text})")
        for note in run_res['notes']:
            print(f'    note: {note}')
        print(f"(d) peak memory, runner: {run_res['memory']}")
    if 'data' in args.sections:
        data_res = data_rates(cfg, batch_size, args.data_samples, args.iters,
                              args.warmup)
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
