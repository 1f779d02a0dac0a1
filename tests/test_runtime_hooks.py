"""The hooks every run needs (NonFiniteLossHook, IterSeedHook) come from
configs/_base_/default_runtime.py's ``default_hooks``: a child config that
sets its own ``custom_hooks`` keeps them, in the built Runner, without any
tool adding them; configs without that runtime get them from the one
fallback, ``ensure_required_hooks``."""
from __future__ import annotations

import os.path as osp
from types import SimpleNamespace

import pytest
from mmengine.config import Config

import ideal_mm  # noqa: F401  (registers the hooks)
from ideal_mm.engine.config_edits import ensure_required_hooks
from ideal_mm.engine.resume import IterSeedHook
from ideal_mm.model_config import encoder_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

CHILD = '''
_base_ = [{base!r}]
custom_hooks = [dict(type='SemiSupSamplerHook')]
default_hooks = dict(logger=dict(interval=7))
'''


def _runner_hooks(cfg: Config, work_dir) -> list:
    from mmengine.runner import Runner
    cfg.work_dir = str(work_dir)
    cfg.launcher = 'none'
    (encoder_config(cfg.model) or {}).pop('init_cfg', None)  # no encoder
    runner = Runner.from_cfg(cfg)
    return [(type(h).__name__, h.priority) for h in runner.hooks]


def _check_required(hooks: list) -> None:
    names = [name for name, _ in hooks]
    assert names.count('NonFiniteLossHook') == 1
    assert names.count('IterSeedHook') == 1
    # NaN check before the checkpoint of that iteration is written
    assert names.index('NonFiniteLossHook') < names.index('CheckpointHook')
    # the last before_train hook: its wrapper sees every next() of the loop
    assert names[-1] == 'IterSeedHook'
    priorities = dict(hooks)
    assert priorities['NonFiniteLossHook'] == 'VERY_HIGH'
    assert priorities['IterSeedHook'] == 'LOWEST'


def test_child_with_its_own_custom_hooks_keeps_both_hooks(tmp_path):
    base = osp.join(REPO, 'configs', 'demo', 'supervised_unet_phantom.py')
    path = tmp_path / 'child.py'
    path.write_text(CHILD.format(base=base))
    cfg = Config.fromfile(str(path))
    assert [h['type'] for h in cfg.custom_hooks] == ['SemiSupSamplerHook']
    assert cfg.default_hooks.logger.interval == 7  # merged, not replaced
    hooks = _runner_hooks(cfg, tmp_path / 'work')
    _check_required(hooks)
    assert 'SemiSupSamplerHook' in dict(hooks)


@pytest.mark.parametrize('config, own', [
    ('demo/mean_teacher_unet_phantom_semi.py', 'MeanTeacherHook'),
    ('demo/ideal_unet_phantom_pretrain.py', 'ExportEncoderHook'),
    ('ideal/unet_acdc.py', 'SemiSupSamplerHook'),
])
def test_repository_configs_that_set_custom_hooks_keep_both(
        tmp_path, config, own):
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    hooks = _runner_hooks(cfg, tmp_path / 'work')
    _check_required(hooks)
    assert own in dict(hooks)


def test_fallback_for_configs_without_the_runtime():
    cfg = Config(dict(custom_hooks=[dict(type='SemiSupSamplerHook')]))
    ensure_required_hooks(cfg)
    assert cfg.default_hooks.nonfinite.type == 'NonFiniteLossHook'
    assert cfg.default_hooks.iter_seed.to_dict() == dict(
        type='IterSeedHook', deterministic_only=True)
    assert [h['type'] for h in cfg.custom_hooks] == ['SemiSupSamplerHook']
    before = cfg.default_hooks.to_dict()
    ensure_required_hooks(cfg)  # idempotent
    assert cfg.default_hooks.to_dict() == before


def test_fallback_keeps_a_hook_the_user_listed_and_opt_outs():
    listed = Config(
        dict(custom_hooks=[dict(type='NonFiniteLossHook', interval=5)]))
    ensure_required_hooks(listed)
    assert 'nonfinite' not in listed.default_hooks
    assert 'iter_seed' in listed.default_hooks
    off = Config(dict(default_hooks=dict(nonfinite=None)))
    ensure_required_hooks(off)  # mmengine refuses None for unknown keys
    assert 'nonfinite' not in off.default_hooks
    old_off = Config(dict(nonfinite_check=False))
    ensure_required_hooks(old_off)
    assert 'nonfinite' not in old_off.default_hooks


def test_fallback_changes_nothing_in_repository_configs():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'ideal', 'unet_acdc.py'))
    before = (cfg.default_hooks.to_dict(), list(cfg.custom_hooks))
    ensure_required_hooks(cfg)
    assert (cfg.default_hooks.to_dict(), list(cfg.custom_hooks)) == before


class _Loop:

    def __init__(self):
        self.dataloader_iterator = iter(range(3))


@pytest.mark.parametrize('randomness, wraps', [
    (dict(seed=0), False),
    (dict(seed=0, deterministic=False), False),
    (dict(seed=None, deterministic=True), False),
    (dict(seed=3, deterministic=True), True),
])
def test_iter_seed_hook_reseeds_only_deterministic_runs(randomness, wraps):
    loop = _Loop()
    runner = SimpleNamespace(
        train_loop=loop, seed=3, cfg=Config(dict(randomness=randomness)))
    IterSeedHook(deterministic_only=True).before_train(runner)
    assert (type(
        loop.dataloader_iterator).__name__ == '_ReseedingIterator') is wraps
    loop = _Loop()
    runner.train_loop = loop
    IterSeedHook().before_train(runner)  # listed by hand: always reseeds
    assert type(loop.dataloader_iterator).__name__ == '_ReseedingIterator'
