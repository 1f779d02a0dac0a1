"""The measurements behind tools/analysis/benchmark.py.

:mod:`.config` prepares a training config for timing (train datasets, the
pipeline's output size, a synthetic batch made by the config's own pipeline,
the labelled share the config's sampler gives a batch); :mod:`.timing` times
the model alone, the full Runner and the data pipeline, and reads peak
memory. Inference timing needs ``ideal_mm.apis`` and lives in
:mod:`ideal_mm.apis.benchmark`.
"""
from .config import (config_crop, labelled_count, num_classes, pipeline_crop,
                     prepare_config, set_pipeline_crop, synthetic_batch,
                     train_datasets)
from .timing import (IterClockHook, build_step, compile_submodules, data_rates,
                     interleaved, machine, model_only, peak_memory, reset_peak,
                     runner_rate, sync)

__all__ = [
    'config_crop', 'labelled_count', 'num_classes', 'pipeline_crop',
    'prepare_config', 'set_pipeline_crop', 'synthetic_batch', 'train_datasets',
    'IterClockHook', 'build_step', 'compile_submodules', 'data_rates',
    'interleaved', 'machine', 'model_only', 'peak_memory', 'reset_peak',
    'runner_rate', 'sync'
]
