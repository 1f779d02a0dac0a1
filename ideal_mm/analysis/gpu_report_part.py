"""The subprocess side of :mod:`ideal_mm.analysis.gpu_report`.

Each measurement of the GPU report runs in its own process with its own time
limit, so that a hang or a crash costs that part only. This module is what
those processes run (``python -m ideal_mm.analysis.gpu_report_part ...``):

* ``prepare``: the phantom ACDC data, one derived config per stage (the
  stage's config at the report's batch, crop, data and schedule, written as
  a plain config file for ``tools/train.py``), the volume cache, and the
  versions of the software and the device;
* ``model``: model-only images/s of a derived config on a synthetic
  on-device batch (:func:`ideal_mm.engine.benchmark.model_only`) and the peak
  memory of those steps.

The full training loop is ``tools/train.py`` itself and the DDP run
``tools/dist_train.sh``; the parent reads their logs. Every result is a JSON
file written atomically; a part that fails records the error there.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import platform
import resource
import sys
import traceback
from typing import Any, Dict, List, Optional, Sequence

#: File in the phantom data root that records how it was generated (the
#: data are reused by a later report with the same spec).
PHANTOM_SPEC = 'gpu_report_phantom.json'


def _versions() -> Dict[str, Any]:
    """Python, torch, CUDA, cuDNN, OpenMMLab and device facts."""
    import mmcv
    import mmengine
    import mmseg
    import torch

    import ideal_mm
    info: Dict[str, Any] = dict(
        python=platform.python_version(),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        mmengine=mmengine.__version__,
        mmseg=mmseg.__version__,
        mmcv=mmcv.__version__,
        ideal_mm=ideal_mm.__version__,
        cpu_count=os.cpu_count(),
        cuda_available=torch.cuda.is_available(),
        gpu_count=0,
        gpus=[])
    info['cudnn'] = (
        torch.backends.cudnn.version()
        if torch.backends.cudnn.is_available() else None)
    if torch.cuda.is_available():
        info['gpu_count'] = torch.cuda.device_count()
        info['gpus'] = [
            torch.cuda.get_device_name(i) for i in range(info['gpu_count'])
        ]
        props = torch.cuda.get_device_properties(0)
        info['gpu_memory_gib'] = round(props.total_memory / 2**30, 1)
    return info


def _make_data(data_root: str, spec: Dict[str, Any]) -> str:
    """Generate the phantom data set unless ``data_root`` holds one made
    from the same ``spec``; returns 'generated' or 'reused'."""
    from ideal_mm.atomic_files import atomic_write_json
    from ideal_mm.datasets.phantom import make_phantom_acdc
    marker = osp.join(data_root, PHANTOM_SPEC)
    if osp.isfile(marker):
        with open(marker) as f:
            if json.load(f) == spec:
                return 'reused'
    size = spec['size']
    size = tuple(tuple(s) if isinstance(s, list) else s for s in size)
    make_phantom_acdc(
        data_root,
        num_patients=spec['patients'],
        seed=0,
        size=size,
        num_slices=tuple(spec['slices']),
        overwrite=True)
    atomic_write_json(marker, spec)
    return 'generated'


def derive_config(src: str, dst: str, settings: Dict[str, Any],
                  data_root: str) -> Dict[str, Any]:
    """Write ``src`` as measured by the report into ``dst``.

    The stage's own model, optimizer, hooks, loaders and pipelines, with:
    random weights (no stage-1 file needed), the report's batch size,
    DataLoader workers (when set) and crop in every train, val and test
    pipeline; the phantom data (``data_root``, a seeded split and the label
    budget when set); ``warmup + iters`` iterations with validation (and
    the checkpoint) at the end; the logger and the log window at
    ``log_interval`` so that every logged ``time`` / ``data_time`` is the
    mean over its own iterations. Returns facts about the config.
    """
    from ideal_mm.engine.benchmark import (labelled_count, prepare_config,
                                           set_pipeline_crop)
    from ideal_mm.engine.config_walk import dataloader_datasets
    crop = tuple(settings['crop'])
    cfg = prepare_config(
        src,
        batch_size=settings['batch_size'],
        num_workers=settings.get('workers'),
        crop=crop)
    split_cfg = dict(
        type='seeded',
        seed=0,
        num_val=settings['num_val'],
        num_test=settings['num_test'])
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for ds in dataloader_datasets(cfg.get(key)):
            if 'data_root' in ds:
                ds['data_root'] = data_root
                ds['split_cfg'] = dict(split_cfg)
            if settings.get('label_budget') is not None and \
                    ds.get('label_budget') is not None:
                ds['label_budget'] = settings['label_budget']
            if key != 'train_dataloader' and 'pipeline' in ds:
                set_pipeline_crop(ds['pipeline'], crop)
        loader = cfg.get(key)
        if key != 'train_dataloader' and loader and \
                settings.get('workers') is not None:
            loader['num_workers'] = settings['workers']
            if not settings['workers']:
                loader['persistent_workers'] = False
    total = settings['loop_warmup'] + settings['loop_iters']
    has_val = bool(cfg.get('val_dataloader')) and bool(cfg.get('val_cfg'))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=total)
    if has_val:
        cfg.train_cfg['val_interval'] = total
    interval = settings['log_interval']
    hooks = cfg.get('default_hooks') or {}
    if hooks.get('logger') is not None:
        hooks['logger']['interval'] = interval
    if hooks.get('checkpoint') is not None:
        hooks['checkpoint']['interval'] = total
    log_processor = cfg.get('log_processor') or {}
    log_processor['window_size'] = interval
    cfg.log_processor = log_processor
    cfg.dump(dst)
    return dict(
        validation=has_val,
        labelled=labelled_count(cfg, settings['batch_size']),
        workers=int(cfg.train_dataloader.get('num_workers', 0)),
        val_batch=(int(cfg.val_dataloader.get('batch_size', 1))
                   if has_val else None))


def _warm_cache(config: str) -> None:
    """Build the train and val datasets of ``config`` once, so that the
    volume cache exists before any timed part starts."""
    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    for key in ('train_dataloader', 'val_dataloader'):
        loader = cfg.get(key)
        if loader:
            DATASETS.build(loader['dataset'])


def prepare(work_root: str, settings: Dict[str, Any],
            stages: Dict[str, str]) -> Dict[str, Any]:
    """Data, derived configs, volume cache and versions (one result)."""
    import ideal_mm  # noqa: F401  (registers the components)
    out: Dict[str, Any] = dict(versions=_versions(), stages={})
    data_root = osp.join(work_root, 'data')
    spec = dict(
        patients=settings['patients'],
        size=settings['size'],
        slices=settings['slices'])
    out['data'] = dict(
        root=data_root, state=_make_data(data_root, spec), **spec)
    os.makedirs(osp.join(work_root, 'configs'), exist_ok=True)
    for name, src in stages.items():
        dst = osp.join(work_root, 'configs', f'{name}.py')
        try:
            facts = derive_config(src, dst, settings, data_root)
            _warm_cache(dst)
            out['stages'][name] = dict(status='ok', config=dst, **facts)
        except Exception as err:  # one stage's failure is its row
            out['stages'][name] = dict(
                status='failed',
                error=f'{type(err).__name__}: {err}',
                traceback=traceback.format_exc(limit=-3))
    return out


def model_part(config: str, device: str, precision: str, warmup: int,
               iters: int) -> Dict[str, Any]:
    """Model-only images/s of a derived config (batch and crop as set in
    it) and the peak memory of those steps in MiB (CUDA
    ``max_memory_allocated``; on CPU the process's maximum RSS)."""
    import torch

    import ideal_mm  # noqa: F401
    from ideal_mm.engine.benchmark import config_crop, model_only
    from ideal_mm.engine.config_edits import load_config
    cfg = load_config(config)
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    env_cfg = cfg.get('env_cfg') or {}
    torch.backends.cudnn.benchmark = bool(
        env_cfg.get('cudnn_benchmark', False))
    batch = int(cfg.train_dataloader.batch_size)
    amp = precision != 'fp32'
    res = model_only(
        cfg,
        device,
        batch,
        config_crop(cfg),
        iters,
        warmup,
        amp=amp,
        channels_last=amp)
    if device.startswith('cuda'):
        memory = torch.cuda.max_memory_allocated() / 2**20
    else:
        memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(
        rate=res['rate'],
        step_ms=res['step_ms'],
        loss=res['loss'],
        precision=res['precision'],
        memory_mib=memory,
        batch_size=batch)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the subprocesses (not a user tool)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='part', required=True)
    prep = sub.add_parser('prepare')
    prep.add_argument('--work-root', required=True)
    prep.add_argument('--settings', required=True, help='JSON')
    prep.add_argument(
        '--stage',
        nargs=2,
        action='append',
        default=[],
        metavar=('NAME', 'CONFIG'))
    prep.add_argument('--result', required=True)
    model = sub.add_parser('model')
    model.add_argument('config')
    model.add_argument('--device', required=True)
    model.add_argument('--precision', required=True)
    model.add_argument('--warmup', type=int, required=True)
    model.add_argument('--iters', type=int, required=True)
    model.add_argument('--result', required=True)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run one part; write its result (or its error) to ``--result``."""
    args = parse_args(argv)
    try:
        if args.part == 'prepare':
            result = prepare(args.work_root, json.loads(args.settings),
                             dict(args.stage))
        else:
            result = model_part(args.config, args.device, args.precision,
                                args.warmup, args.iters)
        result['status'] = 'ok'
        code = 0
    except Exception as err:  # reported as the part's failed row
        result = dict(
            status='failed',
            error=f'{type(err).__name__}: {err}',
            traceback=traceback.format_exc(limit=-4))
        traceback.print_exc()
        code = 1
    from ideal_mm.atomic_files import atomic_write_json
    atomic_write_json(args.result, result)
    return code


if __name__ == '__main__':
    sys.exit(main())
