"""Shared pytest fixtures: the repo root on sys.path and small phantom ACDC
data.

``phantom_root`` is generated once per test session (12 patients, 64-80 px
in-plane, 6-8 slices: about half a second) and must be treated as read-only;
tests that modify data copy it first (``copy_phantom``).
"""
from __future__ import annotations

import os
import shutil
import sys
from typing import Callable

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import ideal_mm  # noqa: E402  (light: no torch, no mmseg)

# the tests build registered components by name, as configs do
ideal_mm.register_all_modules()

PHANTOM_PATIENTS = 12
PHANTOM_SIZE = ((64, 80), (64, 80))
PHANTOM_SLICES = (6, 8)


@pytest.fixture(scope='session')
def phantom_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A read-only phantom ACDC root with patient001..patient012
    (training/)."""
    from ideal_mm.datasets.phantom import make_phantom_acdc
    root = str(tmp_path_factory.mktemp('phantom_acdc'))
    make_phantom_acdc(
        root,
        num_patients=PHANTOM_PATIENTS,
        seed=0,
        size=PHANTOM_SIZE,
        num_slices=PHANTOM_SLICES)
    return root


@pytest.fixture(scope='session')
def whs_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A read-only whole-heart phantom in nnU-Net layout (8 classes, CT-like):
    whs_001..whs_008 in imagesTr/labelsTr, whs_009..whs_010 in imagesTs."""
    from ideal_mm.datasets.phantom import make_phantom_whs
    root = str(tmp_path_factory.mktemp('phantom_whs'))
    make_phantom_whs(
        root,
        num_cases=8,
        num_test=2,
        seed=0,
        size=(48, 48),
        num_slices=(6, 8))
    return root


@pytest.fixture(scope='session')
def whs_split_cfg() -> dict:
    """A seeded split for ``whs_root``: 5 train, 1 val, 2 test patients."""
    return dict(type='seeded', seed=0, num_val=1, num_test=2)


def data_for(dataset_type: str, request: pytest.FixtureRequest):
    """(data_root, split_cfg) of the phantom that suits a dataset type:
    the whole-heart nnU-Net phantom for NnUNetDataset, else phantom ACDC."""
    if dataset_type == 'NnUNetDataset':
        return (request.getfixturevalue('whs_root'),
                request.getfixturevalue('whs_split_cfg'))
    return (request.getfixturevalue('phantom_root'),
            request.getfixturevalue('phantom_split_cfg'))


@pytest.fixture(scope='session')
def phantom_split_cfg() -> dict:
    """A seeded split for ``phantom_root``: 8 train, 2 val, 2 test patients."""
    return dict(type='seeded', seed=0, num_val=2, num_test=2)


@pytest.fixture
def copy_phantom(phantom_root: str, tmp_path) -> Callable[..., str]:
    """Copy (some patients of) ``phantom_root`` to a fresh folder to modify.

    ``copy_phantom()`` copies every patient, ``copy_phantom(['patient001'])``
    only those; the cache folder is never copied.
    """

    def _copy(patients=None) -> str:
        dst = str(tmp_path / 'acdc')
        src_train = os.path.join(phantom_root, 'training')
        names = patients or sorted(os.listdir(src_train))
        for name in names:
            shutil.copytree(
                os.path.join(src_train, name),
                os.path.join(dst, 'training', name))
        return dst

    return _copy
