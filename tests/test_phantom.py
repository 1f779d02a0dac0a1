"""Phantom ACDC generator and its command-line tool."""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

import ideal_mm  # noqa: F401
from ideal_mm.datasets.io import parse_info_cfg, read_nifti_frame
from ideal_mm.datasets.phantom import GROUPS, MARKER, make_phantom_acdc
from ideal_mm.errors import ConfigError, DataError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = dict(size=((64, 80), (64, 80)), num_slices=(6, 8))


def _files(root):
    return sorted(
        os.path.relpath(p, root)
        for p in glob.glob(os.path.join(root, '**', '*'), recursive=True)
        if os.path.isfile(p) and '.ideal_mm_cache' not in p)


def _frames(root, pid):
    folder = os.path.join(root, 'training', pid)
    info = parse_info_cfg(os.path.join(folder, 'Info.cfg'))
    out = {}
    for key in ('ED', 'ES'):
        stem = os.path.join(folder, f'{pid}_frame{int(info[key]):02d}')
        out[key] = (read_nifti_frame(stem + '.nii.gz')[0],
                    read_nifti_frame(stem + '_gt.nii.gz', is_label=True)[0])
    return info, out


def test_layout_and_info(phantom_root):
    patients = sorted(os.listdir(os.path.join(phantom_root, 'training')))
    assert patients == [f'patient{i:03d}' for i in range(1, 13)]
    for i, pid in enumerate(patients):
        folder = os.path.join(phantom_root, 'training', pid)
        info = parse_info_cfg(os.path.join(folder, 'Info.cfg'))
        assert set(info) == {
            'ED', 'ES', 'Group', 'Height', 'NbFrame', 'Weight'
        }
        ed, es, nb = int(info['ED']), int(info['ES']), int(info['NbFrame'])
        assert ed == 1 and 8 <= es <= 14 and 20 <= nb <= 30
        assert info['Group'] == GROUPS[i % 5]
        assert 150 <= float(info['Height']) <= 195
        assert sorted(os.listdir(folder)) == sorted([
            'Info.cfg', f'{pid}_frame01.nii.gz', f'{pid}_frame01_gt.nii.gz',
            f'{pid}_frame{es:02d}.nii.gz', f'{pid}_frame{es:02d}_gt.nii.gz'
        ])
    assert os.path.isfile(os.path.join(phantom_root, MARKER))


def test_anatomy(phantom_root):
    for pid in ('patient001', 'patient002', 'patient003', 'patient004',
                'patient005'):
        info, frames = _frames(phantom_root, pid)
        (img_ed, gt_ed), (_, gt_es) = frames['ED'], frames['ES']
        d, h, w = gt_ed.shape
        assert 6 <= d <= 8 and 64 <= h <= 80 and 64 <= w <= 80
        lv_ed, lv_es = (gt_ed == 3).sum(), (gt_es == 3).sum()
        # ES: LV cavity smaller - clearly for normal/HCM/RV hearts, less for
        # the poorly contracting DCM/MINF ones.
        limit = 0.85 if info['Group'] in ('DCM', 'MINF') else 0.6
        assert lv_es < limit * lv_ed, (pid, info['Group'], lv_es / lv_ed)
        myo_ed, myo_es = (gt_ed == 2).sum(), (gt_es == 2).sum()
        assert abs(myo_es - myo_ed) < 0.25 * myo_ed  # myocardium conserved
        per_slice = (gt_ed > 0).sum(axis=(1, 2))
        assert per_slice[0] > per_slice[-1]  # base larger than apex
        assert (gt_ed[-1] == 1).sum() == 0  # no RV at the apex
        mid = gt_ed[d // 3]
        assert set(np.unique(mid)) == {0, 1, 2, 3}
        blood = img_ed[(gt_ed == 3) | (gt_ed == 1)].mean()
        assert blood > 2 * img_ed[gt_ed == 2].mean()
        assert img_ed.max() > 250  # MRI-like intensities, not [0, 1]


def test_spacing_in_header(phantom_root):
    path = os.path.join(phantom_root, 'training', 'patient003',
                        'patient003_frame01.nii.gz')
    img = nib.load(path)
    sx, sy, sz = (float(z) for z in img.header.get_zooms())
    assert sx == pytest.approx(sy) and 1.3 <= sx <= 1.8 and 5 <= sz <= 10
    np.testing.assert_allclose(
        np.diag(img.affine)[:3], (sx, sy, sz), rtol=1e-6)
    assert int(img.header['qform_code']) == 1
    assert int(img.header['sform_code']) == 1
    np.testing.assert_allclose(img.get_qform(), img.affine, rtol=1e-6)
    arr, spacing, _ = read_nifti_frame(path)
    assert spacing == pytest.approx((sz, sx, sy))
    assert arr.shape == (img.shape[2], img.shape[0], img.shape[1])
    assert img.get_data_dtype() == np.int16


def test_deterministic_and_independent_of_count(phantom_root, tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    make_phantom_acdc(a, num_patients=3, seed=0, **SMALL)
    make_phantom_acdc(b, num_patients=3, seed=0, **SMALL)
    make_phantom_acdc(c, num_patients=3, seed=1, **SMALL)
    assert _files(a) == _files(b)
    for rel in _files(a):
        with open(os.path.join(a, rel), 'rb') as fa, \
                open(os.path.join(b, rel), 'rb') as fb:
            assert fa.read() == fb.read(), rel
        # The same patient as in the 12-patient session data (same seed).
        if rel.startswith('training'):
            with open(os.path.join(a, rel), 'rb') as fa, \
                    open(os.path.join(phantom_root, rel), 'rb') as fr:
                assert fa.read() == fr.read(), rel
    img_a = _frames(a, 'patient001')[1]['ED'][0]
    img_c = _frames(c, 'patient001')[1]['ED'][0]
    assert img_a.shape != img_c.shape or not np.array_equal(img_a, img_c)


def test_with_4d_and_start_id(tmp_path):
    root = str(tmp_path / 'p')
    make_phantom_acdc(
        root,
        num_patients=1,
        start_id=42,
        with_4d=True,
        size=(64, 64),
        num_slices=(6, 6))
    info, frames = _frames(root, 'patient042')
    cine = nib.load(
        os.path.join(root, 'training', 'patient042', 'patient042_4d.nii.gz'))
    assert cine.shape == (64, 64, 6, int(info['NbFrame']))
    data = np.asarray(cine.dataobj)
    es = int(info['ES'])
    np.testing.assert_array_equal(data[..., 0].transpose(2, 0, 1),
                                  frames['ED'][0])
    np.testing.assert_array_equal(data[..., es - 1].transpose(2, 0, 1),
                                  frames['ES'][0])


def test_overwrite_rules(tmp_path):
    root = str(tmp_path / 'p')
    make_phantom_acdc(root, num_patients=2, size=(48, 48), num_slices=(2, 2))
    with pytest.raises(DataError, match='--overwrite'):
        make_phantom_acdc(root, num_patients=1, size=(48, 48))
    make_phantom_acdc(
        root, num_patients=1, size=(48, 48), num_slices=(2, 2), overwrite=True)
    assert os.listdir(os.path.join(root, 'training')) == ['patient001']
    other = tmp_path / 'real'
    (other / 'training' / 'patient001').mkdir(parents=True)
    with pytest.raises(DataError, match=MARKER):
        make_phantom_acdc(str(other), num_patients=1, overwrite=True)
    assert (other / 'training' / 'patient001').is_dir()  # untouched
    with pytest.raises(ConfigError, match='size'):
        make_phantom_acdc(str(tmp_path / 'q'), size=(10, 10))
    with pytest.raises(ConfigError, match='num_patients'):
        make_phantom_acdc(str(tmp_path / 'q'), num_patients=0)


def test_cli_bad_out(tmp_path):
    not_a_dir = tmp_path / 'file.txt'
    not_a_dir.write_text('x')
    tool = os.path.join(REPO, 'tools', 'data', 'make_phantom_acdc.py')
    bad = subprocess.run(
        [sys.executable, tool, '--out',
         str(not_a_dir), '--patients', '1'],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        timeout=120)
    assert bad.returncode == 1
    err = [
        line for line in bad.stderr.splitlines()
        if line.strip() and 'phantom ACDC' not in line
    ]
    assert len(err) == 1 and err[0].startswith('error: ')
    assert str(not_a_dir) in err[0] and 'Traceback' not in bad.stderr


def test_high_variability_phantom(tmp_path):
    """--variability high: deterministic, spread of contrast and heart size
    across patients well beyond the standard phantom's, standard unchanged."""
    import nibabel as nib

    from ideal_mm.datasets.phantom import make_phantom_acdc

    def stats(root):
        ratios, areas = [], []
        for pid in range(1, 9):
            folder = os.path.join(root, 'training', f'patient{pid:03d}')
            img = nib.load(
                os.path.join(folder,
                             f'patient{pid:03d}_frame01.nii.gz')).get_fdata()
            gt = nib.load(
                os.path.join(
                    folder,
                    f'patient{pid:03d}_frame01_gt.nii.gz')).get_fdata()
            ratios.append(np.median(img[gt == 2]) / np.median(img[gt == 3]))
            areas.append((gt == 3).sum() / gt.shape[2])
        return np.array(ratios), np.array(areas)

    std_root, hi_root = str(tmp_path / 'std'), str(tmp_path / 'hi')
    kw = dict(num_patients=8, seed=0, size=(96, 96), num_slices=(6, 7))
    make_phantom_acdc(std_root, **kw)
    make_phantom_acdc(hi_root, variability='high', **kw)
    std_ratio, std_area = stats(std_root)
    hi_ratio, hi_area = stats(hi_root)
    # myocardium/blood contrast and LV size vary far more between patients
    assert hi_ratio.std() > 1.2 * std_ratio.std()
    assert np.std(np.log(hi_area)) > np.std(np.log(std_area))
    with open(os.path.join(hi_root, 'PHANTOM_ACDC.json')) as f:
        assert json.load(f)['variability'] == 'high'
    with open(os.path.join(std_root, 'PHANTOM_ACDC.json')) as f:
        assert 'variability' not in json.load(f)
    again = str(tmp_path / 'hi2')
    make_phantom_acdc(again, variability='high', **kw)
    for name in ('patient003_frame01.nii.gz', 'patient003_frame01_gt.nii.gz'):
        with open(os.path.join(hi_root, 'training', 'patient003', name),
                  'rb') as a, open(
                      os.path.join(again, 'training', 'patient003', name),
                      'rb') as b:
            assert a.read() == b.read()
    with pytest.raises(ConfigError, match='variability'):
        make_phantom_acdc(str(tmp_path / 'bad'), variability='extreme', **kw)
