"""``ACDCVisualizationHook``: mmseg's SegVisualizationHook for cached ACDC
slices.

mmseg's ``SegVisualizationHook`` reads each sample's image from ``img_path``
with ``mmcv.imfrombytes``; ideal_mm's ``img_path`` is a float32 ``.npy``
volume of the volume cache (``docs/data_contract.md``), which mmcv cannot
decode. This subclass reads slice ``slice_idx`` of the memory-mapped volume,
scales it to uint8 gray -> RGB and draws the prediction (and the reference,
resized to the slice when the pipeline resized it) with the runner's
``SegLocalVisualizer`` in the dataset's palette. During validation only the
first ``max_samples`` drawn samples of every validation are kept, so the
images show the same few slices at every validation step.

Config (default runtime)::

    default_hooks = dict(
        visualization=dict(type='ACDCVisualizationHook', draw=True,
                           interval=10, max_samples=4))
    # TensorBoard next to the local files:
    vis_backends = [dict(type='LocalVisBackend'),
                    dict(type='TensorboardVisBackend')]
    visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends,
                      name='visualizer')

``tools/test.py --show-dir DIR`` sets ``draw=True, interval=1``: every test
slice is drawn (``max_samples`` applies to validation only).
"""
from __future__ import annotations

import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.structures import PixelData
from mmseg.engine.hooks import SegVisualizationHook
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from ideal_mm.visualization import to_uint8_gray


def _slice_rgb(img_path: str, slice_idx: int) -> np.ndarray:
    """Slice ``slice_idx`` of a cached (D, H, W) or multi-channel
    (D, H, W, C) volume as RGB uint8 (channel 0 of a multi-channel one)."""
    volume = np.load(img_path, mmap_mode='r')
    sl = np.asarray(volume[int(slice_idx)], dtype=np.float32)
    gray = to_uint8_gray(sl[..., 0] if sl.ndim == 3 else sl)
    return np.repeat(gray[..., None], 3, axis=-1)


def _fit_gt(sample: SegDataSample, shape) -> SegDataSample:
    """A copy whose ``gt_sem_seg`` matches ``shape`` (nearest resize) or is
    dropped when absent; the runner's sample stays untouched."""
    if 'gt_sem_seg' not in sample:
        return sample
    gt = sample.gt_sem_seg.data
    if tuple(gt.shape[-2:]) == tuple(shape):
        return sample
    import cv2
    arr = gt.squeeze(0).cpu().numpy().astype(np.uint8)
    arr = cv2.resize(
        arr, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    out = sample.clone()
    out.gt_sem_seg = PixelData(data=gt.new_tensor(arr)[None])
    return out


@HOOKS.register_module()
class ACDCVisualizationHook(SegVisualizationHook):
    """Draw predictions on cached ACDC slices during validation and testing.

    Args:
        draw: draw at all (mmseg's default False; the hook is inert then).
        interval: draw the samples of every ``interval``-th val/test batch.
        max_samples: at most this many samples per validation (None: no
            limit); testing draws every ``interval``-th batch entirely.
        with_labels: write class names into the picture (mmseg option;
            off by default because ACDC slices are small).
        show, wait_time, backend_args: as in ``SegVisualizationHook``.
    """

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 max_samples: Optional[int] = 4,
                 with_labels: bool = False,
                 show: bool = False,
                 wait_time: float = 0.,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(
            draw=draw,
            interval=interval,
            show=show,
            wait_time=wait_time,
            backend_args=backend_args)
        self.max_samples = max_samples
        self.with_labels = with_labels
        self._drawn = 0

    def before_val_epoch(self, runner) -> None:
        """Restart the per-validation sample count."""
        self._drawn = 0

    def _load_image(self, sample: SegDataSample) -> np.ndarray:
        img_path = sample.img_path
        if str(img_path).endswith('.npy'):
            return _slice_rgb(img_path, sample.slice_idx)
        import mmcv
        import mmengine.fileio as fileio
        return mmcv.imfrombytes(
            fileio.get(img_path, backend_args=self.backend_args),
            channel_order='rgb')

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch: dict,
                    outputs: Sequence[SegDataSample],
                    mode: str = 'val') -> None:
        """Draw the samples of every ``interval``-th val/test batch."""
        if self.draw is False or mode == 'train':
            return
        if not self.every_n_inner_iters(batch_idx, self.interval):
            return
        for sample in outputs:
            if mode == 'val' and self.max_samples is not None and \
                    self._drawn >= self.max_samples:
                return
            image = self._load_image(sample)
            sample = _fit_gt(sample, image.shape[:2])
            name = sample.get('volume_id') or osp.splitext(
                osp.basename(sample.img_path))[0]
            slice_idx = sample.get('slice_idx')
            if slice_idx is not None:
                name = f'{name}_s{int(slice_idx):02d}'
            self._visualizer.add_datasample(
                f'{mode}_{name}',
                image,
                data_sample=sample,
                show=self.show,
                wait_time=self.wait_time,
                step=runner.iter,
                with_labels=self.with_labels)
            self._drawn += 1
