"""Every shipped semi-supervised and pre-training config gives the losses
recorded in tests/data/config_losses.json on a fixed batch.

The safety net of refactors of the semi-supervised layer: the golden file was
written from the code before them (``tests/data/config_losses.py`` says how
the batch, the parameters and the iteration are fixed). A config added later
needs its entry (regenerate with ``--write`` and review the diff).
"""
import importlib.util
import json
import os.path as osp

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import pytest
import torch

HERE = osp.dirname(osp.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    'config_losses', osp.join(HERE, 'data', 'config_losses.py'))
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

with open(harness.GOLDEN) as f:
    GOLDEN = json.load(f)
CONFIGS = harness.covered_configs()
_CACHE = {}


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """One intra-op thread: the golden values were computed that way."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_every_semi_and_pretrain_config_is_covered():
    assert len(CONFIGS) >= 60  # 52 + 5 + 5 two-stream/MT/UniMatch + 7 stage 1
    assert set(CONFIGS) <= set(GOLDEN), sorted(set(CONFIGS) - set(GOLDEN))


@pytest.mark.parametrize('config', CONFIGS)
def test_config_gives_the_golden_losses(config):
    key = harness.model_key(config)
    if key not in _CACHE:
        _CACHE[key] = harness.compute_losses(config)
    losses, names = _CACHE[key]
    golden = GOLDEN[config]
    assert harness.names_digest(names) == golden['parameters'], names
    assert sorted(losses) == sorted(golden['losses'])
    for name, value in golden['losses'].items():
        assert losses[name] == pytest.approx(value, rel=1e-5, abs=1e-7), name


@pytest.mark.parametrize('config', CONFIGS)
def test_a_config_with_an_ema_teacher_steps_it_with_the_hook(config):
    """The EMA teacher / key branch only moves through MeanTeacherHook."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(harness.REPO, config))
    model = cfg.model
    has_ema = model.get('key_branch', 'ema') == 'ema' \
        if model.type == 'DenseContrastivePretrainer' else \
        model.type == 'MeanTeacherSemiSupModel' or \
        model.get('semi_train_cfg', {}).get('ema_momentum') is not None
    hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
    assert ('MeanTeacherHook' in hooks) == has_ema, hooks
