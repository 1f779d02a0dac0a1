"""Every shipped config is at most two ``_base_`` levels deep.

A leaf under configs/ inherits only files under configs/_base_/ (models,
datasets, schedules, default_runtime), and those inherit at most one more
level, so reading a config means reading the leaf and its bases, as in
mmseg. The bases are read with mmengine's own ``Config._get_base_files``.
"""
from __future__ import annotations

import glob
import os.path as osp
from typing import List

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MAX_DEPTH = 2


def bases(path: str) -> List[str]:
    """Absolute paths of the files in ``path``'s ``_base_``."""
    return [
        osp.normpath(osp.join(osp.dirname(path), b))
        for b in Config._get_base_files(path)
    ]


def depth(path: str) -> int:
    """Number of ``_base_`` levels above ``path`` (0: inherits nothing)."""
    parents = bases(path)
    return 1 + max(depth(p) for p in parents) if parents else 0


def leaves() -> List[str]:
    """Every config under configs/ outside configs/_base_/."""
    return sorted(
        p for p in glob.glob(
            osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
        if '_base_' not in osp.relpath(p, REPO).split(osp.sep))


def _param(path: str):
    return pytest.param(path, id=osp.relpath(path, REPO))


def test_there_are_configs_to_check():
    assert len(leaves()) > 80


@pytest.mark.parametrize('path', [_param(p) for p in leaves()])
def test_config_is_at_most_two_levels_deep(path):
    assert depth(path) <= MAX_DEPTH, [
        osp.relpath(b, REPO) for b in bases(path)
    ]
    for base in bases(path):  # a leaf inherits only from _base_/
        assert '_base_' in osp.relpath(base, REPO).split(osp.sep), base


def test_a_three_level_config_fails_the_check(tmp_path):
    """The check itself: leaf -> _base_/a.py -> _base_/b.py -> _base_/c.py
    is three levels; two levels pass."""
    base = tmp_path / '_base_'
    base.mkdir()
    (base / 'c.py').write_text('x = 1\n')
    (base / 'b.py').write_text("_base_ = ['./c.py']\ny = 2\n")
    (base / 'a.py').write_text("_base_ = ['./b.py']\nz = 3\n")
    (base / 'flat.py').write_text("_base_ = ['./c.py']\nw = 4\n")
    deep, ok = tmp_path / 'deep.py', tmp_path / 'ok.py'
    deep.write_text("_base_ = ['./_base_/a.py']\n")
    ok.write_text("_base_ = ['./_base_/flat.py']\n")
    assert depth(str(deep)) == 3 > MAX_DEPTH
    assert depth(str(ok)) == 2
    assert Config.fromfile(str(deep)).x == 1  # a config mmengine reads
