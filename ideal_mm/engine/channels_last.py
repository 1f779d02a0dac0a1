"""Channels-last (NHWC) memory format for training and testing.

mmengine has no switch for it: ``model.to(memory_format=torch.channels_last)``
must be applied to the model, and every 4D batch the data preprocessor
produces must be made channels-last too, or the first convolution converts it
back. On GPUs with tensor cores (bf16 / fp16) cuDNN's NHWC kernels avoid the
layout transposes around every convolution. This module provides:

* :func:`to_channels_last` - convert a model (the inner module of a wrapper)
  and register a forward hook on its ``data_preprocessor`` that returns
  ``inputs`` in channels-last; idempotent, and works for any mmengine
  ``BaseModel`` (mmseg's ``EncoderDecoder``, ``BiConsistencySemiSupModel``,
  ``DenseContrastivePretrainer``, ...);
* :class:`ChannelsLastHook` - calls it at the start of training, validation
  and testing: ``custom_hooks = [dict(type='ChannelsLastHook')]``.

Under DDP the hook converts the wrapped module after the wrapper was built;
PyTorch's reducer then copies each gradient into its bucket (and warns once
that the strides differ), which costs a copy per step but is correct.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

__all__ = ['to_channels_last', 'is_channels_last', 'ChannelsLastHook']

_HANDLE_ATTR = '_ideal_mm_channels_last_handle'


def _inputs_to_channels_last(module: nn.Module, args: Any, output: Any) -> Any:
    """Forward hook of a data preprocessor: 4D ``inputs`` -> channels-last."""
    if isinstance(output, dict):
        inputs = output.get('inputs')
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
            output['inputs'] = inputs.contiguous(
                memory_format=torch.channels_last)
    return output


def to_channels_last(model: nn.Module) -> nn.Module:
    """Convert ``model`` to channels-last and make its batches channels-last.

    Every 4D parameter and buffer is re-laid out in place (the Parameter
    objects are kept, so an optimizer built before stays valid). When the
    model (or the module inside a wrapper) has a ``data_preprocessor``, a
    forward hook makes the 4D ``inputs`` it returns channels-last. Calling it
    twice changes nothing.

    Returns:
        ``model`` itself.
    """
    inner = model.module if is_model_wrapper(model) else model
    inner.to(memory_format=torch.channels_last)
    preprocessor: Optional[nn.Module] = getattr(inner, 'data_preprocessor',
                                                None)
    if isinstance(preprocessor, nn.Module) and \
            getattr(preprocessor, _HANDLE_ATTR, None) is None:
        handle = preprocessor.register_forward_hook(_inputs_to_channels_last)
        setattr(preprocessor, _HANDLE_ATTR, handle)
    return model


def is_channels_last(model: nn.Module) -> bool:
    """True when every 4D parameter of ``model`` is channels-last."""
    return all(
        p.is_contiguous(memory_format=torch.channels_last)
        for p in model.parameters() if p.dim() == 4)


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Train and test in the channels-last memory format.

    ``custom_hooks = [dict(type='ChannelsLastHook')]`` converts
    ``runner.model`` with :func:`to_channels_last` before training,
    validation and testing (the conversion is idempotent; a checkpoint loaded
    later is copied into the channels-last parameters). The highest priority
    makes it run before hooks that copy the model (EMA).
    """

    priority = 'VERY_HIGH'

    def _convert(self, runner) -> None:
        to_channels_last(runner.model)

    def before_train(self, runner) -> None:
        """Convert the model before the first training iteration."""
        self._convert(runner)

    def before_val(self, runner) -> None:
        """Convert the model before validation (test-only runs included)."""
        self._convert(runner)

    def before_test(self, runner) -> None:
        """Convert the model before testing."""
        self._convert(runner)
