"""Load pre-trained encoders so that a lost tensor is an error, not a warning.

Why this exists: mmengine's ``PretrainedInit`` loads non-strictly and only
logs what it missed, and several mmseg backbones override ``init_weights``
and ignore a backbone-level ``init_cfg=dict(type='Pretrained', ...,
prefix='backbone.')``: VisionTransformer and PIDNet load none of the file's
tensors without a word, BEiT and MAE raise a raw ``KeyError`` (issue 25).
So, for every module of a model whose ``init_cfg`` is ``Pretrained`` with a
local file (any module: backbone-level or segmentor-level form),
:func:`init_weights_verified`

1. takes that init_cfg off the module (its own ``init_weights`` then does
   its ordinary random initialisation),
2. calls the model's ``init_weights()``,
3. loads the file itself, mapping keys by the init_cfg's ``prefix`` exactly
   as mmengine's ``PretrainedInit`` does, and
4. checks that every tensor of the file reached the module, value by value
   (:func:`check_tensors_arrived`), else raises a one-line ConfigError
   naming the module, the backbone, the share loaded and the fix.

Remote checkpoints (``open-mmlab://``, ``https://``, ...) are ImageNet
weights that backbones convert in their own ``init_weights`` (timm key
names, position-embedding resizing); they are left to the backbone.

:class:`VerifiedInitHook` runs it in the Runner (``before_run`` of a training
run, before the Runner's own ``init_weights`` call, which then finds the
model initialised) and checks ``load_from`` the same way after the Runner has
loaded it. ``configs/_base_/default_runtime.py`` lists it in
``default_hooks`` (key ``verified_init``), and tools/train.py adds it to
configs built on another runtime (``REQUIRED_HOOKS`` of
:mod:`ideal_mm.engine.config_edits`).
"""
from __future__ import annotations

import os.path as osp
from typing import Dict, List, Mapping, Tuple

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from mmseg.registry import HOOKS

from ..errors import ConfigError
from .checkpoint_checks import read_checkpoint_state

_REMOTE = ('open-mmlab', 'mmcls', 'torchvision', 'pavi', 'modelzoo')

#: where a local Pretrained init_cfg was found: (module name, module, cfg)
TakenInit = Tuple[str, nn.Module, dict]


def is_local_pretrained(cfg: object) -> bool:
    """Whether ``cfg`` is a ``Pretrained`` init_cfg naming a local file."""
    if not isinstance(cfg, Mapping) or cfg.get('type') != 'Pretrained':
        return False
    ckpt = cfg.get('checkpoint')
    return isinstance(ckpt, str) and '://' not in ckpt and \
        not ckpt.startswith(_REMOTE)


def take_pretrained_init_cfgs(model: nn.Module) -> List[TakenInit]:
    """Remove every local ``Pretrained`` init_cfg from ``model``'s modules.

    Returns ``(module name, module, init_cfg)`` for each, outermost first
    (so a segmentor-level file loads before a backbone-level one).
    """
    taken: List[TakenInit] = []
    for name, module in model.named_modules():
        init_cfg = getattr(module, 'init_cfg', None)
        items = init_cfg if isinstance(init_cfg, (list, tuple)) else \
            [init_cfg]
        local = [c for c in items if is_local_pretrained(c)]
        if not local:
            continue
        kept = [c for c in items if c is not None and c not in local]
        module.init_cfg = (kept if isinstance(init_cfg,
                                              (list, tuple)) else None) or None
        taken += [(name, module, dict(c)) for c in local]
    return taken


def _where(name: str, module: nn.Module) -> str:
    key = f'model.{name}' if name else 'model'
    backbone = getattr(module, 'backbone', None)
    kind = type(
        backbone if isinstance(backbone, nn.Module) else module).__name__
    return f'{key} ({kind})'


def _reason(missing: List[str], shapes: List[str], values: List[str]) -> str:
    parts = []
    for what, keys in (('not in the model', missing), ('other shape', shapes),
                       ('other value', values)):
        if keys:
            more = f', ... {len(keys)} in all' if len(keys) > 2 else ''
            parts.append(f'{what}: {", ".join(keys[:2])}{more}')
    return '; '.join(parts)


def check_tensors_arrived(module: nn.Module, tensors: Mapping[str,
                                                              torch.Tensor],
                          where: str, source: str, fix: str) -> int:
    """Raise ConfigError unless every tensor of ``tensors`` is in
    ``module.state_dict()`` with the same shape and the same values.

    ``where`` names the module, ``source`` the file and ``fix`` what to do;
    the message gives the share loaded ("loaded 0 of 219 tensors").
    Returns the number of tensors checked.
    """
    after = module.state_dict()
    missing, shapes, values = [], [], []
    for key, value in tensors.items():
        have = after.get(key)
        if have is None:
            missing.append(key)
        elif tuple(have.shape) != tuple(value.shape):
            shapes.append(f'{key} {tuple(value.shape)} vs '
                          f'{tuple(have.shape)}')
        elif not torch.equal(have.detach().cpu(),
                             value.detach().to('cpu', have.dtype)):
            values.append(key)
    lost = len(missing) + len(shapes) + len(values)
    if lost:
        raise ConfigError(
            f'{where}: loaded {len(tensors) - lost} of {len(tensors)} '
            f'tensors of {source} ({_reason(missing, shapes, values)}); '
            f'{fix}')
    return len(tensors)


def load_pretrained_verified(name: str, module: nn.Module,
                             init_cfg: Mapping) -> int:
    """Load ``init_cfg``'s file into ``module`` as mmengine's PretrainedInit
    does (keys starting with ``prefix``, prefix removed; non-strict), then
    :func:`check_tensors_arrived`. Returns the number of tensors loaded."""
    ckpt = init_cfg['checkpoint']
    option = f'model.{name}.init_cfg' if name else 'model.init_cfg'
    state, _ = read_checkpoint_state(ckpt, f'{option}.checkpoint')
    prefix = init_cfg.get('prefix')
    if prefix:
        state = {
            k[len(prefix):]: v
            for k, v in state.items() if k.startswith(prefix)
        }
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    where = _where(name, module)
    if not tensors:
        raise ConfigError(
            f'{where}: {ckpt!r} ({option}) holds no tensor'
            f'{" under prefix " + repr(prefix) if prefix else ""}; give an '
            f'encoder.pth written by stage 1 (ExportEncoderHook or '
            f'tools/export_encoder.py)')
    target = module.state_dict()
    fits = {
        k: v
        for k, v in tensors.items()
        if k in target and tuple(target[k].shape) == tuple(v.shape)
    }
    module.load_state_dict(fits, strict=False)
    fix = ('the file was written for another encoder configuration: '
           'use the backbone config the file was exported from (its meta '
           "'backbone'), or export it again from that stage-1 run")
    return check_tensors_arrived(module, tensors, where,
                                 f'{ckpt!r} ({option})', fix)


def init_weights_verified(model: nn.Module) -> Dict[str, int]:
    """``model.init_weights()`` with every local Pretrained file loaded by
    :func:`load_pretrained_verified` afterwards. Returns ``{module name:
    tensors loaded}``."""
    return _init_and_load(model, take_pretrained_init_cfgs(model))


def _init_and_load(model: nn.Module, taken: List[TakenInit]) -> Dict[str, int]:
    if hasattr(model, 'init_weights'):
        model.init_weights()
    return {
        name or 'model': load_pretrained_verified(name, module, cfg)
        for name, module, cfg in taken
    }


def check_load_from(model: nn.Module, checkpoint: str) -> int:
    """Raise ConfigError unless every tensor of ``checkpoint`` (keys as the
    Runner loads ``load_from``) has its value in ``model``."""
    state, _ = read_checkpoint_state(checkpoint, 'load_from')
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    return check_tensors_arrived(
        model, tensors, f'load_from into {type(model).__name__}',
        repr(checkpoint),
        'pass a checkpoint written by this config (its work dir holds a '
        'copy), or load an encoder with init_cfg=dict(type=\'Pretrained\', '
        "checkpoint=..., prefix='backbone.')")


@HOOKS.register_module()
class VerifiedInitHook(Hook):
    """Initialise the model with :func:`init_weights_verified` before the
    Runner does, and check ``load_from`` once the Runner has loaded it.

    Nothing is done when the model has no local Pretrained file, when the
    run resumes (the resumed checkpoint holds every weight) or when it only
    tests (weights come from the checkpoint).
    """

    priority = 'VERY_HIGH'

    @staticmethod
    def _model(runner) -> nn.Module:
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    @staticmethod
    def _training(runner) -> bool:
        # Runner.train() builds the train loop before before_run;
        # Runner.test() / val() leave it a config dict.
        return isinstance(getattr(runner, '_train_loop', None), BaseLoop)

    def before_run(self, runner) -> None:
        """Initialise and load the encoder files (training runs only)."""
        if not self._training(runner) or getattr(runner, '_resume', False):
            return
        model = self._model(runner)
        taken = take_pretrained_init_cfgs(model)
        if not taken:  # nothing to load: the Runner initialises the model
            return
        loaded = _init_and_load(model, taken)
        for name, count in loaded.items():
            runner.logger.info(f'{name}: all {count} tensors of its '
                               f'pre-trained file loaded')
        runner.logger.info(
            'VerifiedInitHook initialised the model: the Runner\'s own '
            'init_weights() call that follows changes nothing (mmengine '
            'logs that it was "called more than once")')

    def before_train(self, runner) -> None:
        """Check that every tensor of ``load_from`` reached the model."""
        load_from = getattr(runner, '_load_from', None)
        if getattr(runner, '_resume', False) or not load_from or \
                not osp.isfile(str(load_from)):
            return
        count = check_load_from(self._model(runner), load_from)
        runner.logger.info(f'load_from: all {count} tensors loaded')
