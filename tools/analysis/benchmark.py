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
"""
from __future__ import annotations

import argparse
import copy
import os
import os.path as osp
import platform
import resource
import statistics
import sys
import tempfile
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

SECTIONS = ('model', 'runner', 'data')
LOAD_PREFIX = 'Load'


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


# --------------------------------------------------------------------------
# config preparation
# --------------------------------------------------------------------------
def train_datasets(cfg: Any) -> Iterator[dict]:
    """Every dataset dict (with a pipeline) below ``cfg.train_dataloader``."""
    stack = [cfg.train_dataloader.get('dataset')]
    while stack:
        ds = stack.pop()
        if not isinstance(ds, dict):
            continue
        if 'pipeline' in ds:
            yield ds
        stack.append(ds.get('dataset'))
        stack.extend(ds.get('datasets') or [])


def pipeline_crop(pipeline: Sequence[dict]) -> Optional[Tuple[int, int]]:
    """Output (h, w) of a train pipeline, from its resizing transform."""
    for t in pipeline:
        kind = t.get('type')
        if kind in ('RandomAffineResize', 'DenseContrastiveTwoView'):
            size = t.get('out_size', (256, 256))
            return (size, size) if isinstance(size, int) else tuple(size)
        if kind == 'Resize' and t.get('scale') is not None:
            w, h = t['scale']
            return int(h), int(w)
        if kind in ('RandomCrop', ) and t.get('crop_size') is not None:
            return tuple(t['crop_size'])
    return None


def set_pipeline_crop(pipeline: Sequence[dict], hw: Tuple[int, int]) -> None:
    """Make every resizing / cropping transform of ``pipeline`` output hw."""
    h, w = hw
    for t in pipeline:
        kind = t.get('type')
        if kind in ('RandomAffineResize', 'DenseContrastiveTwoView'):
            t['out_size'] = (h, w)
        elif kind == 'Resize':
            t['scale'] = (w, h)
            t['keep_ratio'] = False
        elif kind == 'RandomCrop':
            t['crop_size'] = (h, w)


def prepare_config(args: argparse.Namespace) -> Any:
    """Load the config and apply the command-line overrides."""
    from ideal_mm.apis.inference import _drop_pretrained
    from ideal_mm.engine.runner_config import load_config
    from ideal_mm.errors import ConfigError
    cfg = load_config(args.config, args.cfg_options)
    for key in ('model', 'train_dataloader', 'optim_wrapper'):
        if key not in cfg or cfg[key] is None:
            raise ConfigError(f'{args.config}: no `{key}`; the benchmark '
                              'needs a training config')
    # random weights: stage-1 encoder files need not exist here
    _drop_pretrained(cfg.model)
    loader = cfg.train_dataloader
    if args.batch_size is not None:
        loader.batch_size = args.batch_size
        sampler = loader.get('sampler') or {}
        if 'batch_size' in sampler:
            sampler['batch_size'] = args.batch_size
    if args.num_workers is not None:
        loader.num_workers = args.num_workers
    if loader.get('num_workers', 0) == 0:
        loader.persistent_workers = False
    if args.crop is not None:
        for ds in train_datasets(cfg):
            set_pipeline_crop(ds['pipeline'], tuple(args.crop))
    return cfg


def config_crop(cfg: Any) -> Tuple[int, int]:
    """The train crop (h, w): from the train pipeline, else ``crop_size``."""
    for ds in train_datasets(cfg):
        crop = pipeline_crop(ds['pipeline'])
        if crop is not None:
            return crop
    size = cfg.get('crop_size', (256, 256))
    return tuple(size)


def labelled_count(cfg: Any, batch_size: int) -> int:
    """Labelled samples per batch: the sampler's first source, else all."""
    sampler = cfg.train_dataloader.get('sampler') or {}
    ratio = sampler.get('source_ratio')
    if not ratio:
        return batch_size
    ratio = [float(r) for r in ratio]
    counts = [int(batch_size * r / sum(ratio)) for r in ratio]
    return batch_size - sum(counts[1:])


def num_classes(cfg: Any) -> int:
    """Number of classes from the config (default 4, ACDC)."""
    if isinstance(cfg.get('num_classes'), int):
        return cfg.num_classes
    for key in ('decode_head', 'decode_head_1'):
        head = cfg.model.get(key)
        if isinstance(head, dict) and 'num_classes' in head:
            return int(head['num_classes'])
    return 4


# --------------------------------------------------------------------------
# measurement helpers
# --------------------------------------------------------------------------
def sync(device: str) -> None:
    """Wait for queued CUDA work (no-op on CPU)."""
    import torch
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def reset_peak(device: str) -> None:
    """Reset the CUDA peak-memory counter."""
    import torch
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()


def peak_memory(device: str) -> str:
    """Peak memory since the last reset (CUDA) or of the process (CPU)."""
    import torch
    if device.startswith('cuda'):
        return (f'{torch.cuda.max_memory_allocated() / 2**20:.0f} MiB '
                'CUDA max_memory_allocated')
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return (f'{own:.0f} MiB max RSS of this process (largest finished '
            f'worker: {kids:.0f} MiB)')


def synthetic_batch(cfg: Any, batch_size: int, crop: Tuple[int, int],
                    seed: int = 0) -> dict:
    """A collated batch made by the config's train pipeline from random slices.

    The loading transforms are skipped; each slice is a smooth random
    float32 (h, w) image in [0, 1] with a random label map of the config's
    classes. The first :func:`labelled_count` samples are labelled (have a
    label map), the rest are not, as the semi-supervised sampler does.
    """
    import numpy as np
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import FUNCTIONS
    ds = next(train_datasets(cfg), None)
    pipeline = [t for t in (ds['pipeline'] if ds else [])
                if not str(t.get('type', '')).startswith(LOAD_PREFIX)]
    transform = Compose(copy.deepcopy(pipeline))
    rng = np.random.default_rng(seed)
    h, w = crop
    n_lab = labelled_count(cfg, batch_size)
    classes = num_classes(cfg)
    items = []
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(batch_size):
        fy, fx = rng.uniform(0.02, 0.2, 2)
        img = (0.5 + 0.25 * np.sin(fy * yy) * np.cos(fx * xx) +
               0.1 * rng.random((h, w))).astype(np.float32)
        labelled = i < n_lab
        item = dict(img=img, img_shape=(h, w), ori_shape=(h, w),
                    img_path=f'synthetic_{i}', slice_idx=0, num_slices=1,
                    volume_id=f'synthetic_{i}', patient_id='synthetic',
                    frame='ED', spacing=(10.0, 1.5, 1.5), labelled=labelled,
                    reduce_zero_label=False, seg_fields=[],
                    seg_map_path=None)
        if labelled:
            item['gt_seg_map'] = rng.integers(0, classes, (h, w)).astype(
                np.uint8)
            item['seg_fields'] = ['gt_seg_map']
            item['seg_map_path'] = f'synthetic_{i}'
        items.append(transform(item))
    collate_cfg = cfg.train_dataloader.get('collate_fn')
    collate = pseudo_collate
    if isinstance(collate_cfg, dict):
        collate = FUNCTIONS.get(collate_cfg['type'])
    return collate(items)


def model_only(cfg: Any, args: argparse.Namespace, device: str,
               batch_size: int, crop: Tuple[int, int]) -> Dict[str, Any]:
    """(a): median ``train_step`` time on a synthetic on-device batch."""
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS

    from ideal_mm.engine.channels_last import to_channels_last
    from ideal_mm.engine.runner_config import enable_amp
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model)).to(device)
    model.train()
    if args.channels_last:
        to_channels_last(model)
    optim_cfg = copy.deepcopy(cfg)
    amp_note = 'fp32'
    cpu_autocast = False
    if args.amp:
        if device.startswith('cuda'):
            enable_amp(optim_cfg)
            amp_note = 'bf16 (AmpOptimWrapper)'
        else:
            cpu_autocast = True
            amp_note = "bf16 (torch.autocast('cpu'))"
    optim_wrapper = build_optim_wrapper(model, optim_cfg.optim_wrapper)
    data = model.data_preprocessor.cast_data(
        synthetic_batch(cfg, batch_size, crop))
    reset_peak(device)
    times: List[float] = []
    for i in range(args.warmup + args.iters):
        sync(device)
        t0 = time.perf_counter()
        with torch.autocast('cpu', dtype=torch.bfloat16,
                            enabled=cpu_autocast):
            log_vars = model.train_step(data, optim_wrapper)
        sync(device)
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    loss = float(log_vars.get('loss', float('nan')))
    step = statistics.median(times)
    return dict(rate=batch_size / step, step_ms=step * 1e3, loss=loss,
                precision=amp_note, memory=peak_memory(device))


class _IterClock:
    """Hook recording the wall time at the end of every training iteration."""

    def __new__(cls, device: str):  # built lazily: mmengine imported late
        from mmengine.hooks import Hook

        class IterClock(Hook):
            priority = 'LOWEST'

            def __init__(self) -> None:
                self.stamps: List[float] = []

            def after_train_iter(self, runner, batch_idx: int,
                                 data_batch: Any = None,
                                 outputs: Any = None) -> None:
                sync(device)
                self.stamps.append(time.perf_counter())

        return IterClock()


def runner_rate(cfg: Any, args: argparse.Namespace, device: str,
                batch_size: int) -> Dict[str, Any]:
    """(b): mmengine Runner with the real data, median iteration interval."""
    from mmengine.runner import Runner

    from ideal_mm.engine.runner_config import enable_amp
    cfg = copy.deepcopy(cfg)
    total = args.warmup + args.iters + 1
    notes = []
    with tempfile.TemporaryDirectory(prefix='ideal_mm_bench_') as work_dir:
        cfg.work_dir = work_dir
        cfg.launcher = 'none'
        cfg.resume = False
        cfg.load_from = None
        cfg.log_level = 'WARNING'
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=total,
                             val_interval=total + 1)
        for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                    'test_dataloader', 'test_cfg', 'test_evaluator'):
            cfg[key] = None
        hooks = cfg.get('default_hooks') or {}
        hooks['checkpoint'] = None  # mmengine's way to drop a default hook
        hooks.pop('visualization', None)  # not one of mmengine's defaults
        if hooks.get('logger') is not None:
            hooks['logger']['interval'] = total + 1
        cfg.default_hooks = hooks
        custom = [h for h in (cfg.get('custom_hooks') or [])
                  if h.get('type') not in ('ExportEncoderHook', )]
        if args.channels_last:
            custom.append(dict(type='ChannelsLastHook'))
        cfg.custom_hooks = custom
        if args.amp:
            if device.startswith('cuda'):
                enable_amp(cfg)
            else:
                notes.append('AMP skipped on CPU: mmengine AmpOptimWrapper '
                             'needs an accelerator, runner ran fp32')
        reset_peak(device)
        runner = Runner.from_cfg(cfg)
        clock = _IterClock(device)
        runner.register_hook(clock)
        runner.train()
        stamps = clock.stamps
        steps = [b - a for a, b in zip(stamps[args.warmup:],
                                       stamps[args.warmup + 1:])]
        try:
            buf = runner.message_hub.get_scalar('train/data_time')
            data_times: List[float] = list(buf.data[0])[args.warmup + 1:]
        except (KeyError, AttributeError):
            data_times = []  # the runner logged no data_time: reported as n/a
        step = statistics.median(steps)
        out = dict(rate=batch_size / step, step_ms=step * 1e3, notes=notes,
                   memory=peak_memory(device))
        if data_times:
            out['data_wait'] = statistics.median(data_times) / step
        del runner
    return out


def data_rates(cfg: Any, args: argparse.Namespace,
               batch_size: int) -> Dict[str, Any]:
    """(c): one worker in-process (per transform) and the DataLoader."""
    import cv2
    import numpy as np
    import torch
    from mmengine.registry import DATASETS
    from mmengine.runner import Runner

    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    dataset = DATASETS.build(copy.deepcopy(loader_cfg.dataset))
    n = len(dataset)
    if n == 0:
        from ideal_mm.errors import DataError
        raise DataError('the train dataset is empty')
    threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)  # as in a DataLoader worker (mmengine's mp_cfg)
    cv2.setNumThreads(0)
    rng = np.random.default_rng(0)
    order = rng.permutation(max(n, 1))
    transforms = getattr(getattr(dataset, 'pipeline', None), 'transforms',
                         None)
    per_t: Dict[str, float] = {}
    chunks: List[float] = []
    np.random.seed(0)
    try:
        warm = min(n, 20)
        total = warm + args.data_samples
        chunk = max(1, args.data_samples // 5)
        t_chunk, done = 0.0, 0
        for k in range(total):
            idx = int(order[k % n])
            if transforms is None:
                t0 = time.perf_counter()
                dataset[idx]
                dt = time.perf_counter() - t0
            else:
                results = dataset.get_data_info(idx)
                dt = 0.0
                for t in transforms:
                    t0 = time.perf_counter()
                    results = t(results)
                    step = time.perf_counter() - t0
                    dt += step
                    if k >= warm:
                        name = type(t).__name__
                        per_t[name] = per_t.get(name, 0.0) + step
            if k >= warm:
                t_chunk += dt
                done += 1
                if done % chunk == 0:
                    chunks.append(chunk / t_chunk)
                    t_chunk = 0.0
    finally:
        torch.set_num_threads(threads[0])
        cv2.setNumThreads(threads[1])
    timed = args.data_samples
    per_t = {k: v / timed * 1e6 for k, v in per_t.items()}

    loader = Runner.build_dataloader(loader_cfg, seed=0)
    workers = int(loader_cfg.get('num_workers', 0))
    it = iter(loader)
    batches = max(args.iters, 4)
    for _ in range(min(args.warmup, 2) + 1):  # includes worker start-up
        next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    loader_rate = batches * batch_size / (time.perf_counter() - t0)
    del it, loader
    return dict(worker=statistics.median(chunks), per_transform=per_t,
                loader=loader_rate, workers=workers, dataset_len=n)


def inference_rate(cfg: Any, args: argparse.Namespace,
                   device: str) -> Dict[str, Any]:
    """Volumes/s of ``segment_volume`` on test volumes (random weights)."""
    import nibabel as nib
    import numpy as np
    from mmengine.registry import DATASETS

    from ideal_mm.apis import init_model, segment_volume
    test_cfg = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if not test_cfg:
        from ideal_mm.errors import ConfigError
        raise ConfigError('--inference needs a test_dataloader (or '
                          'val_dataloader) in the config')
    dataset = DATASETS.build(copy.deepcopy(test_cfg.dataset))
    volumes: Dict[str, Tuple[str, tuple]] = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        volumes.setdefault(info['volume_id'],
                           (info['img_path'], tuple(info['spacing'])))
        if len(volumes) >= args.inference_volumes:
            break
    model = init_model(cfg, None, device=device)
    if args.channels_last:
        from ideal_mm.engine.channels_last import to_channels_last
        to_channels_last(model)
    images = []
    for path, (sz, sx, sy) in volumes.values():
        vol = np.load(path)  # (D, H, W) -> NIfTI (X, Y, Z)
        images.append(nib.Nifti1Image(np.transpose(vol, (1, 2, 0)),
                                      np.diag([sx, sy, sz, 1.0])))
    segment_volume(model, images[0])  # warm-up
    times, slices = [], 0
    for image in images:
        sync(device)
        t0 = time.perf_counter()
        segment_volume(model, image)
        sync(device)
        times.append(time.perf_counter() - t0)
        slices += image.shape[2]
    return dict(volumes_per_s=len(images) / sum(times),
                slices_per_s=slices / sum(times), volumes=len(images),
                median_s=statistics.median(times))


def machine(device: str) -> str:
    """CPU model, core count, and the GPU when used."""
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        cpu = platform.processor() or platform.machine()  # no /proc (macOS)
    text = (f'{cpu}, {os.cpu_count()} CPUs, torch {torch.__version__}, '
            f'{torch.get_num_threads()} torch threads')
    if device.startswith('cuda'):
        text += f', GPU {torch.cuda.get_device_name()}'
    return text


def fmt(x: Optional[float]) -> str:
    """A ratio with two decimals, or n/a."""
    return 'n/a' if x is None else f'{x:.2f}'


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the selected sections and print the report."""
    args = parse_args(argv)
    if args.device == 'cpu':
        os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')
    import torch
    from mmengine.registry import init_default_scope

    import ideal_mm  # noqa: F401  (compat first, registers components)
    from ideal_mm.errors import ConfigError
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise ConfigError('--device cuda requested but CUDA is not '
                          'available here; use --device cpu')
    cfg = prepare_config(args)
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
        model_res = model_only(cfg, args, device, batch_size, crop)
        print(f"(a) model only: {model_res['rate']:.1f} images/s "
              f"({model_res['step_ms']:.1f} ms/step median, "
              f"{model_res['precision']}, loss {model_res['loss']:.3f})")
        print(f"(d) peak memory, model only: {model_res['memory']}")
    if 'runner' in args.sections:
        run_res = runner_rate(cfg, args, device, batch_size)
        wait = run_res.get('data_wait')
        wait_text = '' if wait is None else \
            f', data wait {100 * wait:.0f}% of the iteration'
        print(f"(b) full runner: {run_res['rate']:.1f} images/s "
              f"({run_res['step_ms']:.1f} ms/iter median{wait_text})")
        for note in run_res['notes']:
            print(f'    note: {note}')
        print(f"(d) peak memory, runner: {run_res['memory']}")
    if 'data' in args.sections:
        data_res = data_rates(cfg, args, batch_size)
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
        inf = inference_rate(cfg, args, device)
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
