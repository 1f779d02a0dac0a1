"""A NaN loss stops training at once; the last good checkpoint is kept."""
from __future__ import annotations

import os.path as osp

import pytest
import torch
from reliability_helpers import REPO, assert_one_line_error
from test_train_tools import PY, run, write_tiny_config


def test_nan_loss_stops_before_checkpointing(tmp_path, phantom_root,
                                             phantom_split_cfg):
    extra = '''
custom_imports = dict(imports=['ideal_mm', 'nan_probe_loss'],
                      allow_failed_imports=False)
model = dict(decode_head=dict(loss_decode=[
    dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    dict(type='NaNFromCallLoss', nan_from=4)]))
train_cfg = dict(max_iters=6, val_interval=6)
param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end=6,
                        by_epoch=False)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2, max_keep_ckpts=3,
                                     save_best=None))
'''
    cfg = write_tiny_config(tmp_path, phantom_root, phantom_split_cfg, extra)
    work_dir = tmp_path / 'work'
    res = run([PY, 'tools/train.py', cfg, '--work-dir',
               str(work_dir)],
              env={'PYTHONPATH': f'{REPO}:{osp.join(REPO, "tests")}'})
    line = assert_one_line_error(res.returncode, res.stderr)
    assert 'non-finite loss at iteration 4: decode.loss_nanprobe=nan' in line
    assert 'decode.loss_ce' not in line  # only the term that broke is named
    good = str(work_dir / 'iter_2.pth')
    assert f'the last checkpoint {good} was saved before it and is kept' \
        in line
    # iteration 4 is a checkpoint iteration: nothing was saved for it
    assert not (work_dir / 'iter_4.pth').exists()
    assert (work_dir / 'last_checkpoint').read_text().strip() == good
    state = torch.load(good, weights_only=True)
    assert state['meta']['iter'] == 2
    assert all(
        torch.isfinite(v).all() for v in state['state_dict'].values()
        if v.is_floating_point())
    assert 'Iter(train) [3/6]' in res.stdout + res.stderr


def test_hook_unit_names_terms_and_ignores_non_loss_keys(tmp_path):
    from types import SimpleNamespace

    from ideal_mm.engine.nonfinite import (NonFiniteLossError,
                                           NonFiniteLossHook, non_finite_terms)
    outputs = {
        'loss': torch.tensor(float('inf')),
        's1.decode.loss_ce': torch.tensor(1.0),
        's2.decode.loss_dice': torch.tensor(float('inf')),
        'acc_seg': torch.tensor(float('nan'))
    }
    assert list(non_finite_terms(outputs)) == ['loss', 's2.decode.loss_dice']
    runner = SimpleNamespace(iter=6, work_dir=str(tmp_path))
    hook = NonFiniteLossHook()
    with pytest.raises(NonFiniteLossError) as err:
        hook.after_train_iter(runner, 6, None, outputs)
    text = str(err.value)
    assert text.startswith('non-finite loss at iteration 7: '
                           's2.decode.loss_dice=inf (total loss=inf)')
    assert 'no checkpoint had been saved yet' in text
    hook.after_train_iter(runner, 6, None, {'loss': torch.tensor(0.5)})


def test_configs_that_replace_custom_hooks_keep_the_hook():
    """The hook is a default_runtime ``default_hooks`` entry: a child's own
    ``custom_hooks`` (the semi-supervised configs') does not drop it, and
    tools/train.py adds nothing to such a config."""
    from ideal_mm.engine.config_edits import load_config
    from ideal_mm.engine.launch import prepare_train_config
    path = osp.join(REPO, 'configs', 'ideal', 'unet_acdc.py')
    cfg = load_config(path)
    assert [h['type'] for h in cfg.custom_hooks] == ['SemiSupSamplerHook']
    assert cfg.default_hooks.nonfinite.type == 'NonFiniteLossHook'
    prepared = prepare_train_config(
        path, cfg_options={'model.segmentor.backbone.init_cfg': None})
    assert prepared.custom_hooks == cfg.custom_hooks
    assert prepared.default_hooks.to_dict() == cfg.default_hooks.to_dict()
