"""Write a trained encoder as ``encoder.pth`` that any mmseg model can load.

The file is ``{'state_dict': {'backbone.<name>': tensor}, 'meta': {...}}``
(plain tensors and Python values only, so ``torch.load(weights_only=True)``
reads it). Load it with
``backbone=dict(..., init_cfg=dict(type='Pretrained', checkpoint=PATH,
prefix='backbone.'))`` or on a whole segmentor with
``init_cfg=dict(type='Pretrained', checkpoint=PATH)``. mmengine's
CheckpointHook saves whole training states; this module keeps only the encoder.
"""
from __future__ import annotations

import datetime
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, Mapping, Optional, Sequence

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ideal_mm.atomic_files import atomic_file
from ideal_mm.compat.checkpoint import load_checkpoint_file
from ideal_mm.errors import CheckpointError, ConfigError
from ideal_mm.model_config import encoder_config

ENCODER_FORMAT = 'ideal_mm.encoder/1'
#: where a semi-supervised model (``SemiSupervisedSegmentor``) keeps the
#: network whose encoder is exported
STUDENT_PREFIX = 'student.'


def _plain(value: Any) -> Any:
    """Config values as plain Python containers (safe for weights_only)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def save_encoder(backbone_state: Mapping[str, torch.Tensor],
                 out_path: str,
                 meta: Optional[Dict[str, Any]] = None,
                 prefix: str = 'backbone.') -> str:
    """Write ``{'state_dict': {prefix + k: v}, 'meta': meta}`` atomically.

    Args:
        backbone_state: the encoder's state dict (keys without prefix).
        out_path: destination file; its folder is created.
        meta: extra information (plain Python values).
        prefix: key prefix (default 'backbone.').

    Returns:
        ``out_path``.
    """
    if not backbone_state:
        raise CheckpointError(f'no encoder weights to write to {out_path}')
    state = OrderedDict((prefix + k, v.detach().cpu().clone())
                        for k, v in backbone_state.items())
    payload = dict(
        state_dict=state,
        meta=dict(
            format=ENCODER_FORMAT,
            prefix=prefix,
            created=datetime.datetime.now().isoformat(timespec='seconds'),
            **_plain(meta or {})))
    with atomic_file(out_path) as f:
        torch.save(payload, f)
    verify_encoder_file(out_path, state)
    return out_path


def verify_encoder_file(path: str, expected: Mapping[str,
                                                     torch.Tensor]) -> int:
    """Read ``path`` back (weights only) and raise CheckpointError unless it
    holds exactly the tensors of ``expected`` (keys with prefix), value by
    value. Returns the number of tensors checked."""
    written = load_checkpoint_file(path, map_location='cpu')
    state = written.get('state_dict', {}) if isinstance(written, Mapping) \
        else {}
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    other = [
        k for k in expected
        if k in state and not (state[k].shape == expected[k].shape and torch.
                               equal(state[k], expected[k].detach().cpu()))
    ]
    if missing or extra or other:
        lost = len(missing) + len(other)
        raise CheckpointError(
            f'{path}: holds {len(expected) - lost} of {len(expected)} encoder '
            f'tensors as written (missing: {missing[:2]}, other values: '
            f'{other[:2]}, unexpected: {extra[:2]}); the disk or the file '
            f'was changed while writing: export again')
    return len(expected)


def _strip_wrapper_prefix(state: Mapping[str, Any]) -> Dict[str, Any]:
    """Drop a DataParallel/DDP ``module.`` prefix present on every key."""
    if state and all(k.startswith('module.') for k in state):
        return {k[len('module.'):]: v for k, v in state.items()}
    return dict(state)


def extract_backbone(checkpoint: Mapping[str, Any],
                     source: str = 'checkpoint',
                     prefix: str = 'backbone.') -> Dict[str, torch.Tensor]:
    """The encoder's weights (keys without prefix) from a loaded checkpoint.

    Works for a pre-training checkpoint (the query encoder ``backbone.*``;
    the momentum copy under ``key_branch.`` is not taken), a segmentor
    checkpoint (``backbone.*``), a semi-supervised checkpoint (the student's
    encoder ``student.backbone.*``, taken when no key starts with
    ``prefix``; an EMA teacher's copy is not), a bare state dict and an
    exported ``encoder.pth``.
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(
            f'{source} holds a {type(checkpoint).__name__}, not a checkpoint '
            f'dict; give an mmengine checkpoint (.pth with a state_dict)')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, Mapping):
        raise CheckpointError(f'{source}: "state_dict" is not a dict')
    state = _strip_wrapper_prefix(state)
    backbone = {}
    for start in (prefix, STUDENT_PREFIX + prefix):
        backbone = {
            k[len(start):]: v
            for k, v in state.items()
            if k.startswith(start) and isinstance(v, torch.Tensor)
        }
        if backbone:
            break
    if not backbone:
        sample = ', '.join(list(state)[:5]) or 'none'
        raise CheckpointError(
            f'{source} has no encoder weights: no key starts with '
            f'{prefix!r} or {STUDENT_PREFIX + prefix!r} (first keys: '
            f'{sample}). Give a checkpoint of a '
            f'model with a `backbone` (pre-training, segmentor or '
            f'semi-supervised model)')
    return backbone


def drop_excluded(backbone_state: Mapping[str, torch.Tensor],
                  exclude: Sequence[str],
                  owner: str = 'exclude') -> Dict[str, torch.Tensor]:
    """``backbone_state`` without the keys that start with any prefix in
    ``exclude`` (encoder key prefixes such as ``'encoder.0.'``).

    A prefix that matches no key, or one that would leave nothing, is a
    ConfigError naming ``owner`` (a typo would otherwise silently export the
    whole encoder).
    """
    if isinstance(exclude, str):
        exclude = [exclude]
    kept = dict(backbone_state)
    for pre in exclude:
        hits = [k for k in kept if k.startswith(pre)]
        if not hits and not any(k.startswith(pre) for k in backbone_state):
            sample = ', '.join(list(backbone_state)[:4])
            raise ConfigError(
                f'{owner}: {pre!r} matches no encoder key (keys look like '
                f'{sample}, ...); give key prefixes of the backbone without '
                f"'backbone.', e.g. 'encoder.0.'")
        for k in hits:
            del kept[k]
    if not kept:
        raise ConfigError(f'{owner}={list(exclude)} leaves no encoder weight '
                          'to export')
    return kept


def export_encoder(
        checkpoint_path: str,
        out_path: str,
        prefix: str = 'backbone.',
        exclude: Sequence[str] = (),
) -> Dict[str, Any]:
    """Read ``checkpoint_path`` and write its encoder to ``out_path``.

    The checkpoint is read with ``torch.load(weights_only=True)`` (importing
    ideal_mm allow-lists mmengine's checkpoint types). Keys starting with a
    prefix in ``exclude`` are left out (see :class:`ExportEncoderHook`).

    Returns:
        The ``meta`` dict written (with ``num_tensors`` and ``source``).
    """
    if not osp.isfile(checkpoint_path):
        raise CheckpointError(
            f'checkpoint not found: {checkpoint_path}; give the path of a '
            f'.pth file saved by training (e.g. work_dirs/<cfg>/iter_N.pth)')
    # weights_only=True; refusals and corrupt files become CheckpointError
    checkpoint = load_checkpoint_file(checkpoint_path, map_location='cpu')
    backbone = extract_backbone(checkpoint, checkpoint_path, prefix)
    if exclude:
        backbone = drop_excluded(backbone, exclude, '--exclude')
    meta: Dict[str, Any] = dict(
        source=osp.abspath(checkpoint_path),
        num_tensors=len(backbone),
        excluded=list(exclude))
    src_meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) \
        else None
    if isinstance(src_meta, Mapping):
        for key in ('iter', 'epoch', 'experiment_name', 'backbone'):
            if key in src_meta:
                meta[key] = src_meta[key]
    save_encoder(backbone, out_path, meta, prefix)
    return meta


@HOOKS.register_module()
class ExportEncoderHook(Hook):
    """After training, write the model's ``backbone`` to the work dir.

    Runs once on the main process when training ends (``after_train``, so
    a test-only run does not overwrite it) and writes
    ``<work_dir>/<filename>`` through :func:`save_encoder` (atomic). The meta
    records the backbone config, the iteration and the source work dir.

    ``exclude`` leaves chosen parts of the encoder out of the file, so that a
    model loading it with ``init_cfg=dict(type='Pretrained', ...)`` keeps
    the values those layers were constructed with (PyTorch's default init;
    mmengine loads non-strictly and logs the missing keys). IDEAL's UNet
    configs leave out the full-resolution stage (``'encoder.0.'``): the
    dense loss compares cells of the 1/8 or 1/16 grid, so the stage that
    feeds the decoder's full-resolution skip connection learns to drop
    pixel-scale detail and is a worse start than random weights (measured
    in issue #4, see ``docs/paper_to_code.md``).

    Args:
        filename: output file name in the work dir (default 'encoder.pth').
        prefix: key prefix (default 'backbone.').
        exclude: encoder key prefixes (without ``prefix``) to leave out,
            e.g. ``('encoder.0.',)``; default: none.
    """

    priority = 'VERY_LOW'

    def __init__(
            self,
            filename: str = 'encoder.pth',
            prefix: str = 'backbone.',
            exclude: Sequence[str] = (),
    ) -> None:
        if not filename or osp.basename(filename) != filename:
            raise ConfigError(
                f'ExportEncoderHook.filename must be a file name without '
                f'folders, got {filename!r}')
        self.filename = filename
        self.prefix = prefix
        self.exclude = [exclude] if isinstance(exclude, str) else list(exclude)
        self.last_path: Optional[str] = None

    @staticmethod
    def _backbone(runner) -> torch.nn.Module:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        backbone = getattr(model, 'backbone', None)
        if not isinstance(backbone, torch.nn.Module):
            raise ConfigError(
                f'ExportEncoderHook needs a model with a `backbone` module; '
                f'{type(model).__name__} has none (remove the hook from '
                f'custom_hooks)')
        return backbone

    def before_train(self, runner) -> None:
        """Check the model and ``exclude`` before any training is spent."""
        backbone = self._backbone(runner)
        if self.exclude:
            drop_excluded(backbone.state_dict(), self.exclude,
                          'ExportEncoderHook.exclude (custom_hooks)')

    def after_train(self, runner) -> None:
        """Write the encoder (main process only)."""
        if not is_main_process():
            return
        backbone = self._backbone(runner)
        meta: Dict[str, Any] = dict(
            iter=int(runner.iter),
            epoch=int(runner.epoch),
            experiment_name=str(runner.experiment_name),
            work_dir=osp.abspath(runner.work_dir))
        cfg_model = getattr(runner.cfg, 'model', None)
        backbone_cfg = encoder_config(cfg_model) \
            if isinstance(cfg_model, Mapping) else None
        if backbone_cfg is not None:
            meta['backbone'] = _plain(backbone_cfg)
        state = backbone.state_dict()
        if self.exclude:
            state = drop_excluded(state, self.exclude,
                                  'ExportEncoderHook.exclude')
            meta['excluded'] = list(self.exclude)
        out = osp.join(runner.work_dir, self.filename)
        save_encoder(state, out, meta, self.prefix)
        self.last_path = out
        left_out = (f' (left out: {", ".join(self.exclude)})'
                    if self.exclude else '')
        runner.logger.info(f'encoder written to {out}{left_out}')
