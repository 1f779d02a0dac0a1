"""SIGKILL at an arbitrary iteration, then --resume: same weights as a run
that was never interrupted (randomness deterministic, CPU)."""
from __future__ import annotations

import os.path as osp
import signal

import torch

from reliability_helpers import REPO
from test_train_tools import PY, run, write_tiny_config

EXTRA = '''
custom_imports = dict(imports=['ideal_mm', 'kill_hook'],
                      allow_failed_imports=False)
randomness = dict(seed=0, deterministic={deterministic})
custom_hooks = [dict(type='SelfKillHook')]
train_cfg = dict(max_iters=7, val_interval=4)
param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end=7,
                        by_epoch=False)]
'''
ENV = {'PYTHONPATH': f'{REPO}:{osp.join(REPO, "tests")}'}


def _config(tmp_path, phantom_root, split, deterministic=True):
    sub = tmp_path / f'cfg_{deterministic}'
    sub.mkdir(exist_ok=True)
    return write_tiny_config(sub, phantom_root, split,
                             EXTRA.format(deterministic=deterministic))


def _train(cfg, work_dir, *extra, kill_at=None):
    env = dict(ENV, IDEAL_MM_TEST_KILL_AT=str(kill_at or ''))
    return run([PY, 'tools/train.py', cfg, '--work-dir', str(work_dir),
                *extra], env=env)


def _weights(path):
    ckpt = torch.load(str(path), weights_only=True)
    return ckpt['state_dict'], ckpt['optimizer']


def test_sigkill_then_resume_gives_the_same_weights(tmp_path, phantom_root,
                                                    phantom_split_cfg):
    cfg = _config(tmp_path, phantom_root, phantom_split_cfg)
    whole, broken = tmp_path / 'whole', tmp_path / 'broken'
    res = _train(cfg, whole)
    assert res.returncode == 0, res.stderr[-3000:]

    # killed after iteration 5's update: iter_4.pth is the last checkpoint
    res = _train(cfg, broken, kill_at=5)
    assert res.returncode == -signal.SIGKILL
    assert (broken / 'iter_4.pth').exists()
    assert not (broken / 'iter_6.pth').exists()
    res = _train(cfg, broken, '--resume')
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    assert 'resumed epoch: 0, iter: 4' in out

    a_state, a_optim = _weights(whole / 'iter_7.pth')
    b_state, b_optim = _weights(broken / 'iter_7.pth')
    assert a_state.keys() == b_state.keys()
    for key in a_state:
        assert torch.equal(a_state[key], b_state[key]), key
    a_mom = [s['momentum_buffer'] for s in a_optim['state'].values()]
    b_mom = [s['momentum_buffer'] for s in b_optim['state'].values()]
    assert all(torch.equal(x, y) for x, y in zip(a_mom, b_mom))


def test_without_reseeding_resume_differs(tmp_path, phantom_root,
                                          phantom_split_cfg):
    """The equality above is not vacuous: without IterSeedHook (no
    deterministic flag) dropout after --resume draws other numbers."""
    cfg = _config(tmp_path, phantom_root, phantom_split_cfg,
                  deterministic=False)
    whole, broken = tmp_path / 'whole', tmp_path / 'broken'
    assert _train(cfg, whole).returncode == 0
    assert _train(cfg, broken, kill_at=5).returncode == -signal.SIGKILL
    assert _train(cfg, broken, '--resume').returncode == 0
    a_state, _ = _weights(whole / 'iter_7.pth')
    b_state, _ = _weights(broken / 'iter_7.pth')
    assert any(not torch.equal(a_state[k], b_state[k]) for k in a_state)
