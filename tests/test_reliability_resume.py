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
    return run(
        [PY, 'tools/train.py', cfg, '--work-dir',
         str(work_dir), *extra],
        env=env)


def _weights(path):
    ckpt = torch.load(str(path), weights_only=True)
    return ckpt['state_dict'], ckpt['optimizer']


def _assert_same_state(ckpt_a, ckpt_b):
    """Bit-identical weights and SGD momentum buffers in two checkpoints."""
    a_state, a_optim = _weights(ckpt_a)
    b_state, b_optim = _weights(ckpt_b)
    assert a_state.keys() == b_state.keys()
    for key in a_state:
        assert torch.equal(a_state[key], b_state[key]), key
    a_mom = [s['momentum_buffer'] for s in a_optim['state'].values()]
    b_mom = [s['momentum_buffer'] for s in b_optim['state'].values()]
    assert all(torch.equal(x, y) for x, y in zip(a_mom, b_mom))


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

    _assert_same_state(whole / 'iter_7.pth', broken / 'iter_7.pth')


def test_without_reseeding_resume_differs(tmp_path, phantom_root,
                                          phantom_split_cfg):
    """The equality above is not vacuous: without IterSeedHook (no
    deterministic flag) dropout after --resume draws other numbers."""
    cfg = _config(
        tmp_path, phantom_root, phantom_split_cfg, deterministic=False)
    whole, broken = tmp_path / 'whole', tmp_path / 'broken'
    assert _train(cfg, whole).returncode == 0
    assert _train(cfg, broken, kill_at=5).returncode == -signal.SIGKILL
    assert _train(cfg, broken, '--resume').returncode == 0
    a_state, _ = _weights(whole / 'iter_7.pth')
    b_state, _ = _weights(broken / 'iter_7.pth')
    assert any(not torch.equal(a_state[k], b_state[k]) for k in a_state)


SEMI = '''
_base_ = [{base!r}]
custom_imports = dict(imports=['ideal_mm', 'kill_hook'],
                      allow_failed_imports=False)
randomness = dict(seed=0, deterministic=True)
crop_size = (32, 32)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'volume_id',
             'slice_idx', 'num_slices', 'spacing', 'labelled')
enc = [8, 16, 32, 64, 128]
model = dict(
    segmentor=dict(
        backbone=dict(init_cfg=None, base_channels=8),
        decode_head=dict(in_channels=enc, channels=8)),
    decode_head_2=dict(in_channels=enc, channels=8))
train_pipeline = [
    dict(type='LoadACDCSlice', with_label=True),
    dict(type='RandomAffineResize', out_size=crop_size, rotate_prob=0.5,
         rotate_range=20, flip_prob=0.5,
         flip_direction=['horizontal', 'vertical']),
    dict(type='RandomIntensity'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadACDCSlice', with_label=True),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(batch_size=4, source_ratio=[2, 2]),
    dataset=dict(data_root={root!r}, split_cfg={split!r}, label_budget=2,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={root!r}, split_cfg={split!r},
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
custom_hooks = [dict(type='SemiSupSamplerHook'), dict(type='SelfKillHook')]
train_cfg = dict(max_iters=7, val_interval=4)
param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end=7,
                        by_epoch=False)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2, max_keep_ckpts=5))
'''


def test_semi_supervised_sigkill_then_resume_gives_the_same_weights(
        tmp_path, phantom_root, phantom_split_cfg):
    """The two-stream model with the labelled/unlabelled sampler, random
    augmentation and a validation in between resumes bit-exactly too."""
    base = osp.join(REPO, 'configs', 'demo', 'ideal_unet_phantom_finetune.py')
    cfg = tmp_path / 'semi.py'
    cfg.write_text(
        SEMI.format(base=base, root=phantom_root, split=phantom_split_cfg))
    whole, broken = tmp_path / 'whole', tmp_path / 'broken'
    res = _train(str(cfg), whole)
    assert res.returncode == 0, res.stderr[-3000:]
    assert _train(str(cfg), broken, kill_at=5).returncode == -signal.SIGKILL
    res = _train(str(cfg), broken, '--resume')
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 4' in res.stdout + res.stderr
    _assert_same_state(whole / 'iter_7.pth', broken / 'iter_7.pth')
