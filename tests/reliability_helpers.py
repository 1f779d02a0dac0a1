"""Helpers shared by the tests/test_reliability_*.py files (not a test module).

* :func:`run_tool_inprocess` runs a tool's ``__main__`` in this process (no
  interpreter start-up: use it for failures that happen before a Runner is
  built) and returns its exit code and stderr.
* :func:`tiny_checkpoint` saves the state dict of the tiny config's model
  (optionally another architecture) without training.
* :func:`evil_checkpoint` writes a checkpoint whose pickle would create a
  marker file when unpickled without ``weights_only``.
"""
from __future__ import annotations

import os
import os.path as osp
import pathlib
import runpy
import sys
from typing import List, Tuple

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_tool_inprocess(script: str, args: List[str], capsys,
                       monkeypatch) -> Tuple[int, str]:
    """Run ``tools/<script>`` as ``__main__``; (exit code, stderr)."""
    monkeypatch.setattr(sys, 'argv', [script] + list(args))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(osp.join(REPO, script), run_name='__main__')
    err = capsys.readouterr().err
    code = exc.value.code
    return (code if isinstance(code, int) else 1), err


def assert_one_line_error(code: int, err: str) -> str:
    """Non-zero exit, no traceback, exactly one ``error:`` line (<= 2
    lines)."""
    assert code != 0
    assert 'Traceback' not in err
    errors = [line for line in err.splitlines() if line.startswith('error:')]
    assert len(errors) == 1, err[-2000:]
    return errors[0]


def tiny_checkpoint(path: str, config: str, cfg_options: dict = None) -> str:
    """Save an mmengine-style checkpoint of the model built from ``config``."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from ideal_mm.engine.config_edits import load_config
    cfg = load_config(config, cfg_options)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    torch.save({'meta': {'iter': 0}, 'state_dict': model.state_dict()}, path)
    return path


class _TouchOnUnpickle:
    """Unpickling this calls ``pathlib.Path(marker).touch()``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker), ))


class _SystemOnUnpickle:
    """Unpickling this calls ``os.system('touch <marker>')``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def evil_checkpoint(path: str,
                    marker: str,
                    state_dict: dict = None,
                    via: str = 'system') -> str:
    """A checkpoint with real-looking content plus a code-running object."""
    payload = (
        _SystemOnUnpickle(marker)
        if via == 'system' else _TouchOnUnpickle(marker))
    torch.save(
        {
            'meta': {
                'iter': 2,
                'payload': payload
            },
            'state_dict': state_dict or {}
        }, path)
    return path
