"""Timing of the model alone, the full Runner and the data pipeline."""
from __future__ import annotations

import copy
import os
import platform
import resource
import statistics
import tempfile
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple

from mmengine.hooks import Hook

from ...errors import DataError
from ..channels_last import to_channels_last
from ..config_edits import enable_amp
from .config import synthetic_batch


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


def build_step(
        cfg: Any,
        device: str,
        batch_size: int,
        crop: Tuple[int, int],
        amp: bool = False,
        channels_last: bool = False,
        compile_model: bool = False
) -> Tuple[Callable[[], float], Dict[str, Any]]:
    """A model, its optimizer wrapper and one synthetic on-device batch;
    returns ``(step, info)``: ``step()`` runs one ``train_step`` and returns
    its seconds, ``info['loss']`` holds the last step's loss and
    ``info['input_shape']`` the shape of one input image (c, h, w). The
    batch is made by the config's own train pipeline, so ``crop`` must be
    the size that pipeline outputs (see :func:`.config.set_pipeline_crop`).

    ``amp``: AmpOptimWrapper (bf16) on CUDA, ``torch.autocast('cpu',
    bfloat16)`` on CPU, where mmengine refuses AmpOptimWrapper.
    ``compile_model``: :func:`compile_submodules` (``nn.Module.compile``
    in place, so parameter names stay).
    """
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model)).to(device)
    model.train()
    if channels_last:
        to_channels_last(model)
    if compile_model:
        compile_submodules(model)
    optim_cfg = copy.deepcopy(cfg)
    info: Dict[str, Any] = dict(precision='fp32', loss=float('nan'))
    cpu_autocast = False
    if amp:
        if device.startswith('cuda'):
            enable_amp(optim_cfg)
            info['precision'] = 'bf16 (AmpOptimWrapper)'
        else:
            cpu_autocast = True
            info['precision'] = "bf16 (torch.autocast('cpu'))"
    optim_wrapper = build_optim_wrapper(model, optim_cfg.optim_wrapper)
    data = model.data_preprocessor.cast_data(
        synthetic_batch(cfg, batch_size, crop))
    inputs = data['inputs']
    info['input_shape'] = tuple(inputs[0].shape) if isinstance(
        inputs, (list, tuple)) else tuple(inputs.shape[1:])

    def step() -> float:
        sync(device)
        t0 = time.perf_counter()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=cpu_autocast):
            log_vars = model.train_step(data, optim_wrapper)
        sync(device)
        info['loss'] = float(log_vars.get('loss', float('nan')))
        return time.perf_counter() - t0

    return step, info


def model_only(cfg: Any,
               device: str,
               batch_size: int,
               crop: Tuple[int, int],
               iters: int,
               warmup: int,
               amp: bool = False,
               channels_last: bool = False,
               compile_model: bool = False) -> Dict[str, Any]:
    """(a): median ``train_step`` time on a synthetic on-device batch
    (:func:`build_step`). ``first_s`` in the result is the first step's
    time (the compile cost with ``compile_model``)."""
    step, info = build_step(cfg, device, batch_size, crop, amp, channels_last,
                            compile_model)
    reset_peak(device)
    times: List[float] = []
    first = 0.0
    for i in range(warmup + iters):
        took = step()
        if i == 0:
            first = took
        if i >= warmup:
            times.append(took)
    med = statistics.median(times)
    return dict(
        rate=batch_size / med,
        step_ms=med * 1e3,
        loss=info['loss'],
        precision=info['precision'],
        memory=peak_memory(device),
        first_s=first,
        times=times)


def interleaved(steps: Sequence[Callable[[], float]], iters: int,
                warmup: int) -> Dict[str, Any]:
    """Time several step functions alternately, one step of each in turn,
    so that a load change on a shared machine hits all of them alike.

    Returns ``first`` (each one's first step, s), ``median`` (each one's
    median step, s) and ``ratio`` (per arm k > 0: the median over rounds of
    step_0 / step_k, the speed-up of arm k over arm 0 within each round).
    """
    first = [s() for s in steps]  # the first step is always warm-up
    extra = max(warmup - 1, 0)
    times: List[List[float]] = [[] for _ in steps]
    for i in range(extra + iters):
        took = [s() for s in steps]
        if i >= extra:
            for k, t in enumerate(took):
                times[k].append(t)
    ratio = [
        statistics.median(a / b for a, b in zip(times[0], t))
        for t in times[1:]
    ]
    return dict(
        first=first,
        median=[statistics.median(t) for t in times],
        ratio=ratio,
        times=times)


def compile_submodules(model: Any) -> List[str]:
    """``torch.compile`` the backbone and every decode head of a model in
    place (``nn.Module.compile``: the state-dict keys do not change); the
    data preprocessor, losses and ``train_step`` stay eager. A
    semi-supervised model's student (``student``) is searched the same way;
    an EMA teacher is not compiled. Returns the names compiled."""
    names = []
    for name, child in model.named_children():
        if name == 'backbone' or 'head' in name:
            child.compile()
            names.append(name)
        elif name == 'student':
            names += [f'student.{n}' for n in compile_submodules(child)]
    return names


class IterClockHook(Hook):
    """Records the wall time at the end of every training iteration (after
    the device's queued work is done); used by :func:`runner_rate`."""

    priority = 'LOWEST'

    def __init__(self, device: str = 'cpu') -> None:
        self.device = device
        self.stamps: List[float] = []

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Any = None) -> None:
        """Stamp the end of this iteration."""
        sync(self.device)
        self.stamps.append(time.perf_counter())


def runner_rate(cfg: Any,
                device: str,
                batch_size: int,
                iters: int,
                warmup: int,
                amp: bool = False,
                channels_last: bool = False) -> Dict[str, Any]:
    """(b): mmengine Runner with the real data, median iteration interval.

    A temporary work dir; validation, testing, checkpoints, visualisation and
    encoder export off; ``warmup + iters + 1`` iterations timed by
    :class:`IterClockHook`.
    """
    from mmengine.runner import Runner

    cfg = copy.deepcopy(cfg)
    total = warmup + iters + 1
    notes = []
    with tempfile.TemporaryDirectory(prefix='ideal_mm_bench_') as work_dir:
        cfg.work_dir = work_dir
        cfg.launcher = 'none'
        cfg.resume = False
        cfg.load_from = None
        cfg.log_level = 'WARNING'
        cfg.train_cfg = dict(
            type='IterBasedTrainLoop', max_iters=total, val_interval=total + 1)
        for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                    'test_dataloader', 'test_cfg', 'test_evaluator'):
            cfg[key] = None
        hooks = cfg.get('default_hooks') or {}
        hooks['checkpoint'] = None  # mmengine's way to drop a default hook
        hooks.pop('visualization', None)  # not one of mmengine's defaults
        if hooks.get('logger') is not None:
            hooks['logger']['interval'] = total + 1
        cfg.default_hooks = hooks
        custom = [
            h for h in (cfg.get('custom_hooks') or [])
            if h.get('type') not in ('ExportEncoderHook', )
        ]
        if channels_last:
            custom.append(dict(type='ChannelsLastHook'))
        cfg.custom_hooks = custom
        if amp:
            if device.startswith('cuda'):
                enable_amp(cfg)
            else:
                notes.append('AMP skipped on CPU: mmengine AmpOptimWrapper '
                             'needs an accelerator, runner ran fp32')
        reset_peak(device)
        runner = Runner.from_cfg(cfg)
        clock = IterClockHook(device)
        runner.register_hook(clock)
        runner.train()
        stamps = clock.stamps
        steps = [b - a for a, b in zip(stamps[warmup:], stamps[warmup + 1:])]
        try:
            buf = runner.message_hub.get_scalar('train/data_time')
            data_times: List[float] = list(buf.data[0])[warmup + 1:]
        except (KeyError, AttributeError):
            data_times = []  # the runner logged no data_time: reported as n/a
        step = statistics.median(steps)
        out = dict(
            rate=batch_size / step,
            step_ms=step * 1e3,
            notes=notes,
            memory=peak_memory(device))
        if data_times:
            out['data_wait'] = statistics.median(data_times) / step
        del runner
    return out


def data_rates(cfg: Any, batch_size: int, samples: int, iters: int,
               warmup: int) -> Dict[str, Any]:
    """(c): one worker in-process (per transform) and the DataLoader.

    ``samples`` samples are timed in this process (one thread, random order,
    after 20 untimed ones), then ``max(iters, 4)`` batches of the configured
    DataLoader after its first batches.
    """
    import cv2
    import numpy as np
    import torch
    from mmengine.registry import DATASETS
    from mmengine.runner import Runner

    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    dataset = DATASETS.build(copy.deepcopy(loader_cfg.dataset))
    n = len(dataset)
    if n == 0:
        raise DataError('the train dataset is empty')
    threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)  # as in a DataLoader worker (mmengine's mp_cfg)
    cv2.setNumThreads(0)
    rng = np.random.default_rng(0)
    order = rng.permutation(max(n, 1))
    transforms = getattr(
        getattr(dataset, 'pipeline', None), 'transforms', None)
    per_t: Dict[str, float] = {}
    chunks: List[float] = []
    np.random.seed(0)
    try:
        warm = min(n, 20)
        total = warm + samples
        chunk = max(1, samples // 5)
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
    timed = samples
    per_t = {k: v / timed * 1e6 for k, v in per_t.items()}

    loader = Runner.build_dataloader(loader_cfg, seed=0)
    workers = int(loader_cfg.get('num_workers', 0))
    it = iter(loader)
    batches = max(iters, 4)
    for _ in range(min(warmup, 2) + 1):  # includes worker start-up
        next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    loader_rate = batches * batch_size / (time.perf_counter() - t0)
    del it, loader
    return dict(
        worker=statistics.median(chunks),
        per_transform=per_t,
        loader=loader_rate,
        workers=workers,
        dataset_len=n)


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
