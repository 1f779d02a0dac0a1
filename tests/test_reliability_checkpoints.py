"""Untrusted checkpoints: every load path refuses a pickle that runs code.

The checkpoint built here would create a marker file when unpickled with
``weights_only=False``. Resume, load_from, init_cfg Pretrained,
tools/test.py, tools/infer.py and tools/export_encoder.py must all refuse it
with ``refusing to load ... outside the allow-list`` and the marker must
never appear.
"""
from __future__ import annotations

import os
import os.path as osp

import pytest
import torch
from reliability_helpers import (assert_one_line_error, evil_checkpoint,
                                 run_tool_inprocess, tiny_checkpoint)
from test_train_tools import PY, run, write_tiny_config

REFUSED = 'contains code/objects outside the allow-list'


@pytest.fixture
def tiny_cfg(tmp_path, phantom_root, phantom_split_cfg) -> str:
    return write_tiny_config(tmp_path, phantom_root, phantom_split_cfg)


@pytest.fixture
def evil(tmp_path):
    """(checkpoint path, marker path) with a real-looking state dict."""
    marker = str(tmp_path / 'PWNED')
    path = evil_checkpoint(
        str(tmp_path / 'evil.pth'), marker, {'backbone.w': torch.zeros(2)})
    return path, marker


def test_the_payload_really_runs_without_weights_only(tmp_path):
    """Guard against a test that passes because the payload is inert."""
    marker = str(tmp_path / 'ran')
    path = evil_checkpoint(str(tmp_path / 'e.pth'), marker, via='touch')
    torch.load(path, weights_only=False)
    assert osp.exists(marker)


@pytest.mark.parametrize('via', ['system', 'touch'])
def test_mmengine_loaders_refuse(tmp_path, via):
    from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint

    from ideal_mm.errors import CheckpointError
    marker = str(tmp_path / 'PWNED')
    path = evil_checkpoint(str(tmp_path / 'evil.pth'), marker, via=via)
    expected = 'posix.system' if via == 'system' else 'pathlib'
    with pytest.raises(CheckpointError, match=REFUSED) as err:
        _load_checkpoint(path, map_location='cpu')
    assert expected in str(err.value) and path in str(err.value)
    with pytest.raises(CheckpointError, match=REFUSED):
        load_checkpoint(torch.nn.Linear(2, 2), path)
    assert not osp.exists(marker)


def test_pretrained_init_cfg_refuses(tmp_path, evil):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from ideal_mm.errors import CheckpointError
    path, marker = evil
    init_default_scope('mmseg')
    model = MODELS.build(
        dict(
            type='UNetEncoder',
            in_channels=1,
            base_channels=8,
            init_cfg=dict(
                type='Pretrained', checkpoint=path, prefix='backbone.')))
    with pytest.raises(CheckpointError, match=REFUSED):
        model.init_weights()
    assert not osp.exists(marker)


def test_resume_refuses_latest_checkpoint(tmp_path, tiny_cfg, evil):
    path, marker = evil
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    (work_dir / 'last_checkpoint').write_text(path)
    res = run([
        PY, 'tools/train.py', tiny_cfg, '--work-dir',
        str(work_dir), '--resume'
    ])
    line = assert_one_line_error(res.returncode, res.stderr)
    assert REFUSED in line and path in line
    assert not osp.exists(marker)
    assert not list(work_dir.glob('iter_*.pth'))  # nothing trained/saved


def test_pretrained_through_train_refuses(tmp_path, tiny_cfg, evil,
                                          phantom_root, phantom_split_cfg):
    path, marker = evil
    cfg = write_tiny_config(
        tmp_path,
        phantom_root,
        phantom_split_cfg,
        extra=f"model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
        f"checkpoint={path!r}, prefix='backbone.')))\n")
    res = run([PY, 'tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    line = assert_one_line_error(res.returncode, res.stderr)
    assert REFUSED in line
    assert not osp.exists(marker)


def test_load_from_refuses(tmp_path, tiny_cfg, evil, capsys, monkeypatch):
    path, marker = evil
    code, err = run_tool_inprocess('tools/train.py', [
        tiny_cfg, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', f'load_from={path}'
    ], capsys, monkeypatch)
    line = assert_one_line_error(code, err)
    assert REFUSED in line and path in line
    assert not osp.exists(marker)
    assert not (tmp_path / 'w').exists()


def test_test_tool_refuses(tmp_path, tiny_cfg, evil, capsys, monkeypatch):
    path, marker = evil
    code, err = run_tool_inprocess(
        'tools/test.py', [tiny_cfg, path, '--work-dir',
                          str(tmp_path / 't')], capsys, monkeypatch)
    assert REFUSED in assert_one_line_error(code, err)
    assert not osp.exists(marker)
    assert not (tmp_path / 't').exists()


def test_infer_tool_refuses(tmp_path, tiny_cfg, evil, phantom_root, capsys,
                            monkeypatch):
    path, marker = evil
    patient = osp.join(phantom_root, 'training', 'patient001')
    volume = sorted(
        f for f in os.listdir(patient) if f.endswith('frame01.nii.gz'))[0]
    out_dir = tmp_path / 'pred'
    code, err = run_tool_inprocess(
        'tools/infer.py',
        [tiny_cfg, path,
         osp.join(patient, volume), '--out-dir',
         str(out_dir)], capsys, monkeypatch)
    assert REFUSED in assert_one_line_error(code, err)
    assert not osp.exists(marker)
    assert not out_dir.exists()


def test_export_encoder_tool_refuses(tmp_path, evil, capsys, monkeypatch):
    path, marker = evil
    out = tmp_path / 'encoder.pth'
    code, err = run_tool_inprocess('tools/export_encoder.py',
                                   [path, str(out)], capsys, monkeypatch)
    assert REFUSED in assert_one_line_error(code, err)
    assert not osp.exists(marker)
    assert not out.exists()


def test_genuine_checkpoint_still_loads_and_corrupt_one_is_explained(
        tmp_path, tiny_cfg):
    from mmengine.runner.checkpoint import _load_checkpoint

    from ideal_mm.errors import CheckpointError
    good = tiny_checkpoint(str(tmp_path / 'good.pth'), tiny_cfg)
    assert 'state_dict' in _load_checkpoint(good, map_location='cpu')
    data = open(good, 'rb').read()
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(
            CheckpointError,
            match='cannot read .*cut.pth.*'
            'truncated, corrupt or not a checkpoint'):
        _load_checkpoint(str(cut), map_location='cpu')
