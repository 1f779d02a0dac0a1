"""Bad configs and checkpoints through tools/train.py and tools/test.py.

Each failure must print one ``error: ...`` line, exit non-zero, show no
traceback and leave no work dir behind (the checks run before the Runner).
"""
from __future__ import annotations

import glob
import os.path as osp

import pytest
from reliability_helpers import (REPO, assert_one_line_error,
                                 run_tool_inprocess, tiny_checkpoint)
from test_train_tools import PY, run, write_tiny_config

FINETUNE = osp.join(REPO, 'configs', 'demo', 'ideal_unet_phantom_finetune.py')


@pytest.fixture
def tiny_cfg(tmp_path, phantom_root, phantom_split_cfg) -> str:
    return write_tiny_config(tmp_path, phantom_root, phantom_split_cfg)


def _train(args, capsys, monkeypatch):
    return run_tool_inprocess('tools/train.py', args, capsys, monkeypatch)


def test_unknown_type_cli_one_line_no_work_dir(tmp_path, tiny_cfg):
    work_dir = tmp_path / 'w'
    res = run([
        PY, 'tools/train.py', tiny_cfg, '--work-dir',
        str(work_dir), '--cfg-options', 'model.decode_head.type=FCNHaed'
    ])
    line = assert_one_line_error(res.returncode, res.stderr)
    assert res.returncode == 1
    assert ("model.decode_head.type='FCNHaed' is not in the mmseg::model "
            'registry') in line
    assert "did you mean 'FCNHead'" in line
    assert not work_dir.exists()


def test_unknown_loss_and_transform_name_their_registry(
        tmp_path, tiny_cfg, capsys, monkeypatch):
    code, err = _train([
        tiny_cfg, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options',
        'model.decode_head.loss_decode.0.type=CELoss'
    ], capsys, monkeypatch)
    line = assert_one_line_error(code, err)
    assert "model.decode_head.loss_decode[0].type='CELoss'" in line
    cfg = write_tiny_config(
        tmp_path,
        REPO, {},
        extra="train_pipeline = [dict(type='LoadSlice')]\n"
        'train_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n')
    code, err = _train(
        [cfg, '--work-dir', str(tmp_path / 'w')], capsys, monkeypatch)
    line = assert_one_line_error(code, err)
    assert "train_pipeline[0].type='LoadSlice'" in line  # the key to edit
    assert 'mmseg::transform registry' in line
    assert not (tmp_path / 'w').exists()


def test_scoped_unknown_type_translated_when_runner_builds(tmp_path, tiny_cfg):
    """A type the start-up check leaves to mmengine (scoped name) is still
    reported as a config error when the Runner builds the model."""
    res = run([
        PY, 'tools/train.py', tiny_cfg, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options',
        'model.decode_head.type=mmseg.NoSuchHead'
    ])
    line = assert_one_line_error(res.returncode, res.stderr)
    assert "type='mmseg.NoSuchHead' is not in the mmseg::model registry" \
        in line


def test_unrelated_key_error_is_not_swallowed():
    from ideal_mm.engine.config_checks import config_errors, registry_error
    with pytest.raises(KeyError, match='some_key'):
        with config_errors():
            {}['some_key']
    assert registry_error(KeyError('some_key')) is None
    translated = registry_error(
        KeyError('Foo is not in the mmseg::model registry. Please check'))
    assert "type='Foo'" in str(translated)


def test_num_classes_model_vs_dataset(tmp_path, tiny_cfg, capsys, monkeypatch):
    code, err = _train([
        tiny_cfg, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', 'model.decode_head.num_classes=3'
    ], capsys, monkeypatch)
    line = assert_one_line_error(code, err)
    assert 'model.decode_head.num_classes=3' in line
    assert 'ACDCDataset' in line and '4 classes' in line
    assert 'num_classes=4' in line
    assert not (tmp_path / 'w').exists()


def test_num_classes_between_two_decoders(tmp_path, capsys, monkeypatch):
    code, err = _train([
        FINETUNE, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options',
        'model.segmentor.backbone.init_cfg=None',
        'model.decode_head_2.num_classes=3'
    ], capsys, monkeypatch)
    line = assert_one_line_error(code, err)
    assert ('model.segmentor.decode_head.num_classes=4 but '
            'model.decode_head_2.num_classes=3') in line
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('budget', ['0', '-1', '0.0', '1.5'])
def test_label_budget_out_of_range(tmp_path, budget, capsys, monkeypatch):
    code, err = _train([
        FINETUNE, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options',
        'model.segmentor.backbone.init_cfg=None',
        f'train_dataloader.dataset.label_budget={budget}'
    ], capsys, monkeypatch)
    line = assert_one_line_error(code, err)
    assert f'train_dataloader.dataset.label_budget={budget}' in line
    assert 'int >= 1' in line and '(0, 1]' in line
    assert not (tmp_path / 'w').exists()


def test_missing_load_from_checkpoint(tmp_path, tiny_cfg, capsys, monkeypatch):
    missing = str(tmp_path / 'nope.pth')
    code, err = _train([
        tiny_cfg, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', f'load_from={missing}'
    ], capsys, monkeypatch)
    line = assert_one_line_error(code, err)
    assert missing in line and 'does not exist' in line
    assert not (tmp_path / 'w').exists()


def test_other_architecture_checkpoint(tmp_path, tiny_cfg, capsys,
                                       monkeypatch):
    wide = tiny_checkpoint(
        str(tmp_path / 'wide.pth'), tiny_cfg, {
            'model.backbone.base_channels': 16,
            'model.decode_head.in_channels': 16
        })
    # tools/test.py: shape mismatches reported, first few keys named
    code, err = run_tool_inprocess(
        'tools/test.py', [tiny_cfg, wide, '--work-dir',
                          str(tmp_path / 't')], capsys, monkeypatch)
    line = assert_one_line_error(code, err)
    assert 'is not a checkpoint of this model' in line
    assert 'shape mismatches' in line and '(16,) vs (8,)' in line
    assert 'in all)' in line  # only the first few are listed
    assert not (tmp_path / 't').exists()

    # load_from of a checkpoint with other keys: missing/unexpected named
    import torch

    from ideal_mm.engine.config_edits import load_config
    state = torch.load(wide, weights_only=True)['state_dict']
    renamed = {
        'encoder.' + k: v
        for k, v in state.items() if k.startswith('backbone.')
    }
    other = str(tmp_path / 'other.pth')
    torch.save({'state_dict': renamed}, other)
    code, err = _train([
        tiny_cfg, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', f'load_from={other}'
    ], capsys, monkeypatch)
    line = assert_one_line_error(code, err)
    assert line.startswith(f"error: load_from: '{other}'")
    assert 'missing keys: backbone.' in line
    assert 'unexpected keys: encoder.backbone.' in line
    assert not (tmp_path / 'w').exists()
    assert load_config(tiny_cfg)  # the config itself is fine


def test_matching_checkpoint_passes_the_check(tmp_path, tiny_cfg):
    from ideal_mm.engine.checkpoint_checks import check_checkpoint_fits
    from ideal_mm.engine.config_edits import load_config
    ckpt = tiny_checkpoint(str(tmp_path / 'same.pth'), tiny_cfg)
    check_checkpoint_fits(load_config(tiny_cfg), ckpt, 'load_from')


def test_shipped_configs_pass_the_start_up_checks():
    """No false alarms: every config in configs/ passes (pre-trained files
    aside, which a fresh checkout does not have)."""
    from ideal_mm.engine.config_checks import (check_label_budgets,
                                               check_num_classes,
                                               check_registered_types)
    from ideal_mm.engine.config_edits import load_config
    paths = [
        p for p in glob.glob(
            osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
        if '_base_' not in p
    ]
    assert len(paths) >= 5
    for path in paths:
        cfg = load_config(path)
        check_registered_types(cfg)
        check_num_classes(cfg)
        check_label_budgets(cfg)
