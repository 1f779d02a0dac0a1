"""Clinical quantities from cardiac label maps: volumes, ejection fraction,
mass.

ACDC exists to measure cardiac function: the end-diastolic (EDV) and
end-systolic (ESV) volumes of both ventricles, their ejection fractions and
the myocardial mass. All of them follow from voxel counts and the voxel
spacing of the NIfTI frames::

    V_c [ml]  = #{voxels with label c} * sx * sy * sz [mm^3] / 1000
    EF  [%]   = 100 * (EDV - ESV) / EDV
    mass [g]  = 1.05 g/ml * V_Myo(ED)

Labels follow ``docs/data_contract.md``: 0 background, 1 RV, 2 Myo, 3 LV.
Neither mmseg nor mmengine computes these, hence this module.
"""
from __future__ import annotations

import math
from typing import Dict, Mapping, Optional, Sequence

import numpy as np

__all__ = [
    'ACDC_STRUCTURES', 'MYOCARDIUM_DENSITY', 'label_volumes_ml',
    'ejection_fraction', 'cardiac_function', 'format_function'
]

#: Structure name -> label value (data contract).
ACDC_STRUCTURES: Mapping[str, int] = {'LV': 3, 'RV': 1, 'Myo': 2}
#: Density of myocardial tissue in g/ml, the usual value in cardiac MRI.
MYOCARDIUM_DENSITY = 1.05


def _voxel_ml(spacing: Sequence[float]) -> float:
    """Volume of one voxel in ml from three spacings in mm (any order)."""
    values = [float(s) for s in spacing]
    if len(values) != 3:
        raise ValueError(f'spacing must hold 3 values in mm, got {spacing!r}')
    if not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f'spacing values must be positive, got {spacing!r}')
    return values[0] * values[1] * values[2] / 1000.0


def label_volumes_ml(
        labels: np.ndarray,
        spacing: Sequence[float],
        classes: Optional[Mapping[str, int]] = None) -> Dict[str, float]:
    """Volume in ml of each structure of a 3D label map.

    ``V_c = count(labels == c) * prod(spacing) / 1000``. The product of the
    spacings does not depend on the axis order, so ``spacing`` may be the
    NIfTI zooms ``(sx, sy, sz)`` or ideal_mm's ``(sz, sx, sy)``.

    Args:
        labels: integer label map (any layout).
        spacing: voxel size in mm, three values.
        classes: structure name -> label value; default
            :data:`ACDC_STRUCTURES` (LV 3, RV 1, Myo 2).

    Returns:
        structure name -> volume in ml, in the order of ``classes``.
    """
    classes = ACDC_STRUCTURES if classes is None else classes
    voxel = _voxel_ml(spacing)
    labels = np.asarray(labels)
    counts = np.bincount(
        labels.ravel().astype(np.int64), minlength=max(classes.values()) +
        1) if labels.size else None
    out: Dict[str, float] = {}
    for name, value in classes.items():
        n = int(
            counts[value]) if counts is not None and value < len(counts) else 0
        out[name] = n * voxel
    return out


def ejection_fraction(edv: float, esv: float) -> float:
    """Ejection fraction in percent: ``100 * (EDV - ESV) / EDV``.

    Raises:
        ValueError: when ``EDV <= 0`` (the ventricle is absent at end-diastole,
            so the fraction is undefined; check the ED segmentation) or a
            volume is negative or not finite.
    """
    edv, esv = float(edv), float(esv)
    if not (math.isfinite(edv) and math.isfinite(esv)) or esv < 0:
        raise ValueError(
            f'volumes must be finite and non-negative, got EDV={edv}, '
            f'ESV={esv}')
    if edv <= 0:
        raise ValueError(
            f'ejection fraction undefined: end-diastolic volume is {edv} ml '
            '(the ventricle is empty in the ED segmentation)')
    return 100.0 * (edv - esv) / edv


def cardiac_function(ed_labels: np.ndarray,
                     es_labels: np.ndarray,
                     spacing: Sequence[float],
                     es_spacing: Optional[Sequence[float]] = None,
                     myo_mass: bool = True) -> Dict[str, float]:
    """LV and RV EDV, ESV (ml) and EF (%) from the ED and ES label maps.

    Args:
        ed_labels: label map of the end-diastolic frame.
        es_labels: label map of the end-systolic frame.
        spacing: voxel size in mm of the ED frame (three values).
        es_spacing: voxel size of the ES frame when it differs (default:
            ``spacing``; ACDC's two frames share it).
        myo_mass: also return ``Myo_mass_g`` = 1.05 g/ml x the ED myocardium
            volume.

    Returns:
        ``{'LV_EDV', 'LV_ESV', 'LV_EF', 'RV_EDV', 'RV_ESV', 'RV_EF'}`` (and
        ``'Myo_mass_g'``). An EF whose EDV is 0 (structure absent at ED) is
        NaN rather than an error, so that one bad segmentation does not hide
        the other ventricle's numbers; :func:`ejection_fraction` raises.
    """
    ed = label_volumes_ml(ed_labels, spacing)
    es = label_volumes_ml(es_labels,
                          spacing if es_spacing is None else es_spacing)
    out: Dict[str, float] = {}
    for name in ('LV', 'RV'):
        out[f'{name}_EDV'] = ed[name]
        out[f'{name}_ESV'] = es[name]
        out[f'{name}_EF'] = (
            ejection_fraction(ed[name], es[name])
            if ed[name] > 0 else float('nan'))
    if myo_mass:
        out['Myo_mass_g'] = MYOCARDIUM_DENSITY * ed['Myo']
    return out


def format_function(values: Mapping[str, float]) -> str:
    """One line: ``LV EDV 150.0 ml ESV 60.0 ml EF 60.0 % | RV ...``."""

    def num(v: float, unit: str) -> str:
        return 'n/a' if v is None or not math.isfinite(v) else \
            f'{v:.1f} {unit}'

    parts = []
    for name in ('LV', 'RV'):
        parts.append(f'{name} EDV {num(values[name + "_EDV"], "ml")} '
                     f'ESV {num(values[name + "_ESV"], "ml")} '
                     f'EF {num(values[name + "_EF"], "%")}')
    line = ' | '.join(parts)
    if 'Myo_mass_g' in values:
        line += f' | Myo mass {num(values["Myo_mass_g"], "g")}'
    return line
