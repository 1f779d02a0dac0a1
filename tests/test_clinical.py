"""Ventricular volumes, ejection fraction and myocardial mass (clinical.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ideal_mm.evaluation.clinical import (cardiac_function, ejection_fraction,
                                          format_function, label_volumes_ml)


def ellipsoid(shape, centre, radii, spacing):
    """Boolean mask of the ellipsoid sum(((x - c) * s / r)^2) <= 1 (mm)."""
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing='ij')
    dist = sum(((g - c) * s / r)**2
               for g, c, s, r in zip(grids, centre, spacing, radii))
    return dist <= 1.0


def test_box_volumes_are_exact():
    spacing = (1.5, 1.25, 8.0)  # mm; one voxel = 0.015 ml
    labels = np.zeros((40, 40, 10), np.uint8)
    labels[0:10, 0:10, 0:5] = 3  # 500 voxels LV
    labels[20:30, 0:4, 0:5] = 1  # 200 voxels RV
    labels[30:40, 30:40, 9] = 2  # 100 voxels Myo
    vols = label_volumes_ml(labels, spacing)
    assert list(vols) == ['LV', 'RV', 'Myo']
    assert vols['LV'] == pytest.approx(500 * 0.015)
    assert vols['RV'] == pytest.approx(200 * 0.015)
    assert vols['Myo'] == pytest.approx(100 * 0.015)
    # axis order of the spacing does not matter
    assert label_volumes_ml(labels, spacing[::-1]) == pytest.approx(vols)
    assert label_volumes_ml(labels, spacing, {'LV': 3}) == {
        'LV': pytest.approx(7.5)
    }


def test_ejection_fraction_formula_and_errors():
    assert ejection_fraction(150.0, 60.0) == pytest.approx(60.0)
    assert ejection_fraction(100.0, 100.0) == 0.0
    with pytest.raises(ValueError, match='end-diastolic volume is 0'):
        ejection_fraction(0.0, 10.0)
    with pytest.raises(ValueError, match='non-negative'):
        ejection_fraction(10.0, -1.0)


def test_cardiac_function_of_ellipsoids_matches_analytic_volumes():
    spacing = (1.0, 1.0, 2.0)
    shape = (96, 96, 48)
    centre = (48, 48, 24)
    # LV cavity at ED: semi-axes 30 x 25 x 40 mm; at ES 20 x 18 x 32 mm
    ed = np.zeros(shape, np.uint8)
    es = np.zeros(shape, np.uint8)
    ed[ellipsoid(shape, centre, (30, 25, 40), spacing)] = 3
    es[ellipsoid(shape, centre, (20, 18, 32), spacing)] = 3
    # RV as boxes elsewhere: 10x10x5 voxels at ED, 10x6x5 at ES
    ed[0:10, 0:10, 0:5] = 1
    es[0:10, 0:6, 0:5] = 1
    fn = cardiac_function(ed, es, spacing)
    analytic_edv = 4 / 3 * math.pi * 30 * 25 * 40 / 1000
    analytic_esv = 4 / 3 * math.pi * 20 * 18 * 32 / 1000
    assert fn['LV_EDV'] == pytest.approx(analytic_edv, rel=0.02)
    assert fn['LV_ESV'] == pytest.approx(analytic_esv, rel=0.02)
    exact_ef = 100 * (1 - (20 * 18 * 32) / (30 * 25 * 40))
    assert fn['LV_EF'] == pytest.approx(exact_ef, abs=1.0)
    # voxel counts give the RV exactly: 500 vs 300 voxels of 2 mm^3
    assert fn['RV_EDV'] == pytest.approx(1.0)
    assert fn['RV_ESV'] == pytest.approx(0.6)
    assert fn['RV_EF'] == pytest.approx(40.0)
    assert fn['Myo_mass_g'] == 0.0
    line = format_function(fn)
    assert line.startswith(
        'LV EDV 125.') and 'RV EDV 1.0 ml ESV 0.6 ml EF 40.0 %' in line


def test_cardiac_function_absent_ventricle_gives_nan_and_mass():
    ed = np.zeros((10, 10, 4), np.uint8)
    ed[2:6, 2:6, 1:3] = 2  # 32 voxels myocardium, no ventricles
    fn = cardiac_function(ed, ed, (2.0, 2.0, 5.0))
    assert math.isnan(fn['LV_EF']) and math.isnan(fn['RV_EF'])
    assert fn['Myo_mass_g'] == pytest.approx(1.05 * 32 * 20 / 1000)
    assert 'n/a' in format_function(fn)
    assert 'Myo_mass_g' not in cardiac_function(
        ed, ed, (1, 1, 1), myo_mass=False)
