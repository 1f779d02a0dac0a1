"""ChannelsLastHook / to_channels_last on the three training models."""
from __future__ import annotations

import copy
import os
from types import SimpleNamespace

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import HOOKS, MODELS

import ideal_mm  # noqa: F401
from ideal_mm.engine import benchmark
from ideal_mm.engine.channels_last import (ChannelsLastHook, is_channels_last,
                                           to_channels_last)
from ideal_mm.engine.config_edits import load_config
from ideal_mm.engine.config_walk import drop_pretrained as _drop_pretrained

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
init_default_scope('mmseg')

CONFIGS = {
    'EncoderDecoder': 'configs/demo/supervised_unet_phantom.py',
    'BiConsistencySemiSupModel': 'configs/demo/ideal_unet_phantom_finetune.py',
    'DenseContrastivePretrainer':
    'configs/demo/ideal_unet_phantom_pretrain.py',
}


@pytest.mark.parametrize('model_type', sorted(CONFIGS))
def test_hook_converts_model_and_inputs_and_a_step_runs(model_type):
    cfg = load_config(os.path.join(REPO, CONFIGS[model_type]))
    _drop_pretrained(cfg.model)
    crop = (32, 32)
    for ds in benchmark.train_datasets(cfg):
        benchmark.set_pipeline_crop(ds['pipeline'], crop)
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    assert type(model).__name__ == model_type
    assert not is_channels_last(model)
    runner = SimpleNamespace(model=model)
    hook = HOOKS.build(dict(type='ChannelsLastHook'))
    assert isinstance(hook, ChannelsLastHook)
    hook.before_train(runner)
    hook.before_val(runner)  # idempotent: one input hook only
    convs = [p for p in model.parameters() if p.dim() == 4]
    assert convs and is_channels_last(model)
    assert len(model.data_preprocessor._forward_hooks) == 1

    seen = []
    handle = model.backbone.register_forward_pre_hook(
        lambda m, args: seen.append(args[0]))
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = [p.detach().clone() for p in convs]
    data = benchmark.synthetic_batch(cfg, 4, crop)
    log_vars = model.train_step(data, optim_wrapper)
    handle.remove()
    assert torch.isfinite(log_vars['loss'])
    assert seen and seen[0].dim() == 4
    x = seen[0]
    if model_type == 'DenseContrastivePretrainer':
        # the query view is a channel slice of the channels-last view pair
        assert x.stride(1) == 1 and x.shape[1] == 1
        assert x.stride(3) == 2 and x.stride(2) == 2 * x.shape[3]
    else:
        assert x.is_contiguous(memory_format=torch.channels_last)
        assert not x.is_contiguous() or x.shape[1] == 1
    # parameters were updated in place and are still channels-last
    assert any(not torch.equal(a, p) for a, p in zip(before, convs))
    assert is_channels_last(model)


def test_to_channels_last_keeps_parameter_objects():
    cfg = load_config(os.path.join(REPO, CONFIGS['EncoderDecoder']))
    model = MODELS.build(copy.deepcopy(cfg.model))
    params = list(model.parameters())
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert to_channels_last(model) is model
    assert all(a is b for a, b in zip(params, model.parameters()))
    assert optim_wrapper.optimizer.param_groups[0]['params'][0] is params[0]
    w = next(p for p in model.parameters() if p.dim() == 4 and p.shape[1] > 1)
    assert w.is_contiguous(memory_format=torch.channels_last)
    assert not w.is_contiguous()
