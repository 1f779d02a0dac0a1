"""Inference timing for tools/analysis/benchmark.py (``--inference``)."""
from __future__ import annotations

import copy
import statistics
import time
from typing import Any, Dict, Tuple

from ..engine.benchmark import sync
from ..engine.channels_last import to_channels_last
from ..errors import ConfigError
from .inference import init_model, segment_volume


def inference_rate(cfg: Any,
                   device: str,
                   volumes: int,
                   channels_last: bool = False) -> Dict[str, Any]:
    """Volumes/s of ``segment_volume`` on up to ``volumes`` test volumes
    (random weights), read from the test split's volume cache."""
    import nibabel as nib
    import numpy as np
    from mmengine.registry import DATASETS

    test_cfg = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if not test_cfg:
        raise ConfigError('--inference needs a test_dataloader (or '
                          'val_dataloader) in the config')
    dataset = DATASETS.build(copy.deepcopy(test_cfg.dataset))
    found: Dict[str, Tuple[str, tuple]] = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        found.setdefault(info['volume_id'],
                         (info['img_path'], tuple(info['spacing'])))
        if len(found) >= volumes:
            break
    model = init_model(cfg, None, device=device)
    if channels_last:
        to_channels_last(model)
    images = []
    for path, (sz, sx, sy) in found.values():
        vol = np.load(path)  # (D, H, W) -> NIfTI (X, Y, Z)
        images.append(
            nib.Nifti1Image(
                np.transpose(vol, (1, 2, 0)), np.diag([sx, sy, sz, 1.0])))
    segment_volume(model, images[0])  # warm-up
    times, slices = [], 0
    for image in images:
        sync(device)
        t0 = time.perf_counter()
        segment_volume(model, image)
        sync(device)
        times.append(time.perf_counter() - t0)
        slices += image.shape[2]
    return dict(
        volumes_per_s=len(images) / sum(times),
        slices_per_s=slices / sum(times),
        volumes=len(images),
        median_s=statistics.median(times))
