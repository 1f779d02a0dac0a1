"""tools/evaluate.py end to end on NIfTI files, and its errors for bad
inputs."""
import importlib.util
import json
import os
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
from medpy.metric import binary as mp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, 'tools', 'evaluate.py')
ZOOMS = (1.4, 1.6, 8.0)  # (sx, sy, sz) of the NIfTI header


def load_tool():
    spec = importlib.util.spec_from_file_location('ideal_mm_tools_evaluate',
                                                  TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save(path, arr, zooms=ZOOMS):
    img = nib.Nifti1Image(np.asarray(arr), np.diag([*zooms, 1.0]))
    img.header.set_zooms(zooms[:np.asarray(arr).ndim])
    nib.save(img, str(path))


def heart(rng, shape=(40, 36, 6)):
    """(X, Y, Z) label map with LV disc, Myo ring and RV blob, randomly
    shifted."""
    x, y = np.mgrid[0:shape[0], 0:shape[1]]
    cx, cy = 20 + rng.integers(-2, 3), 18 + rng.integers(-2, 3)
    r = np.hypot(x - cx, y - cy)
    sl = np.zeros(shape[:2], np.uint8)
    sl[r < 10] = 2
    sl[r < 6] = 3
    sl[(np.hypot(x - cx + 13, y - cy) < 7) & (sl == 0)] = 1
    vol = np.repeat(sl[:, :, None], shape[2], axis=2)
    vol[:, :, -1][vol[:, :, -1] == 1] = 0  # no RV at the apex slice
    return vol


@pytest.fixture
def dirs(tmp_path):
    pred, gt = tmp_path / 'pred', tmp_path / 'gt'
    pred.mkdir()
    gt.mkdir()
    return pred, gt, tmp_path / 'res' / 'metrics.json'


def test_end_to_end_values_equal_medpy(dirs):
    pred_dir, gt_dir, out = dirs
    rng = np.random.default_rng(0)
    expected = {}
    for name, pred_name, gt_name in (('patient001_frame01',
                                      'patient001_frame01.nii.gz',
                                      'patient001_frame01_gt.nii.gz'),
                                     ('patient002_frame12',
                                      'patient002_frame12_pred.nii.gz',
                                      'patient002_frame12.nii.gz')):
        gt = heart(rng)
        pred = heart(rng)
        save(gt_dir / gt_name, gt)
        save(pred_dir / pred_name, pred.astype(np.int16))
        expected[name] = {
            c:
            (mp.dc(pred == v,
                   gt == v), mp.hd95(pred == v, gt == v, voxelspacing=ZOOMS),
             mp.asd(pred == v, gt == v, voxelspacing=ZOOMS))
            for c, v in (('RV', 1), ('Myo', 2), ('LV', 3))
        }
    proc = subprocess.run([
        sys.executable, TOOL, '--pred-dir',
        str(pred_dir), '--gt-dir',
        str(gt_dir), '--out',
        str(out), '--csv',
        str(out.parent / 'cases.csv')
    ],
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'HD95 (mm)' in proc.stdout and '| mean' in proc.stdout
    summary = json.loads(out.read_text())
    assert [c['case'] for c in summary['cases']] == sorted(expected)
    for case in summary['cases']:
        for c, (dice, hd95, asd) in expected[case['case']].items():
            assert case[c]['dice'] == pytest.approx(dice, rel=1e-6)
            assert case[c]['hd95'] == pytest.approx(hd95, rel=1e-6)
            assert case[c]['asd'] == pytest.approx(asd, rel=1e-6)
    lv = np.mean([expected[n]['LV'][0] for n in expected])
    assert summary['per_class']['LV']['dice'] == pytest.approx(lv, rel=1e-6)
    assert (out.parent / 'cases.csv').read_text().startswith('case,class,dice')


def run_bad(tool, capsys, args):
    with pytest.raises(SystemExit) as exc:
        tool.run_cli(lambda: tool.main(args))
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 1
    assert err.startswith('error: ') and len(err.splitlines()) <= 2
    assert 'Traceback' not in err
    return err


def test_bad_inputs_exit_nonzero_and_write_nothing(dirs, capsys):
    tool = load_tool()
    pred_dir, gt_dir, out = dirs
    base = [
        '--pred-dir',
        str(pred_dir), '--gt-dir',
        str(gt_dir), '--out',
        str(out)
    ]

    err = run_bad(
        tool, capsys,
        ['--pred-dir', str(pred_dir / 'nope'), *base[2:]])
    assert '--pred-dir' in err and 'nope' in err
    err = run_bad(tool, capsys,
                  [*base[:2], '--gt-dir',
                   str(gt_dir / 'nope'), *base[4:]])
    assert '--gt-dir' in err
    err = run_bad(tool, capsys, base)  # empty prediction folder
    assert 'no NIfTI predictions' in err

    vol = np.zeros((8, 8, 3), np.uint8)
    vol[2:6, 2:6, :] = 3
    save(pred_dir / 'a.nii.gz', vol)
    save(pred_dir / 'b_pred.nii.gz', vol)
    save(gt_dir / 'a_gt.nii.gz', vol)
    err = run_bad(tool, capsys, base)
    assert 'b' in err.split(
        ':')[-2] and 'NAME_gt.nii.gz' in err  # lists the orphan name

    save(gt_dir / 'b.nii.gz', vol[:, :7])
    err = run_bad(tool, capsys, base)
    assert 'b_pred.nii.gz' in err and 'b.nii.gz' in err
    assert '(8, 8, 3)' in err and '(8, 7, 3)' in err

    save(gt_dir / 'b.nii.gz', vol)
    (pred_dir / 'a.nii.gz').write_bytes(b'\x1f\x8b not really gzip')
    err = run_bad(tool, capsys, base)
    assert 'a.nii.gz' in err and 'cannot read' in err

    bad = vol.copy()
    bad[0, 0, 0] = 7
    save(pred_dir / 'a.nii.gz', bad)
    err = run_bad(tool, capsys, base)
    assert 'a.nii.gz' in err and '7' in err and '--labels' in err

    err = run_bad(tool, capsys, [*base, '--labels', 'RV:1'])
    assert '--labels' in err
    assert not out.exists() and not out.parent.exists()

    # the same files pass with the right labels, and then the JSON appears
    save(pred_dir / 'a.nii.gz', vol)
    with pytest.raises(SystemExit) as exc:
        tool.run_cli(lambda: tool.main([*base, '--labels', 'LV=3']))
    assert exc.value.code == 0
    summary = json.loads(out.read_text())
    assert list(summary['per_class']) == ['LV'
                                          ] and summary['mean']['dice'] == 1.0
