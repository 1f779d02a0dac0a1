"""Write a pre-trainer's transferable weights (encoder *and* decoder parts).

:class:`ExportEncoderHook` writes the ``backbone`` alone; Chaitanya et al.'s
local stage also pre-trains decoder blocks, which fine-tuning loads too. A
model that transfers more than its encoder says what through
``export_state_dict()`` (keys as in the fine-tuning segmentor, e.g.
``backbone.*`` and ``decode_head.up_blocks.3.*``); this hook writes that
dict with :func:`save_encoder` (atomic, read back and compared).
"""
from __future__ import annotations

import os.path as osp
from typing import Any, Dict, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ..errors import ConfigError
from .export_encoder import save_encoder


@HOOKS.register_module()
class ExportPretrainedHook(Hook):
    """After training, write ``model.export_state_dict()`` to the work dir.

    The file has the layout of an exported ``encoder.pth``
    (``{'state_dict': ..., 'meta': ...}``) with the model's own key
    prefixes, so a segmentor loads it with ``init_cfg=dict(type=
    'Pretrained', checkpoint=...)`` at model level (no ``prefix``), and
    ``VerifiedInitHook`` checks that every tensor arrived.

    Args:
        filename: output file name in the work dir.
    """

    priority = 'VERY_LOW'

    def __init__(self, filename: str = 'pretrained.pth') -> None:
        if not filename or osp.basename(filename) != filename:
            raise ConfigError(
                'ExportPretrainedHook.filename must be a file name without '
                f'folders, got {filename!r}')
        self.filename = filename
        self.last_path: Optional[str] = None

    @staticmethod
    def _state(runner) -> Dict[str, torch.Tensor]:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        export = getattr(model, 'export_state_dict', None)
        if not callable(export):
            raise ConfigError(
                f'ExportPretrainedHook needs a model with export_state_dict()'
                f'; {type(model).__name__} has none (use ExportEncoderHook '
                'for an encoder)')
        return export()

    def before_train(self, runner) -> None:
        """Check the model before any training is spent."""
        self._state(runner)

    def after_train(self, runner) -> None:
        """Write the file (main process only)."""
        if not is_main_process():
            return
        meta: Dict[str, Any] = dict(
            iter=int(runner.iter),
            experiment_name=str(runner.experiment_name),
            work_dir=osp.abspath(runner.work_dir))
        out = osp.join(runner.work_dir, self.filename)
        save_encoder(self._state(runner), out, meta, prefix='')
        self.last_path = out
        runner.logger.info(f'pre-trained weights written to {out}')
