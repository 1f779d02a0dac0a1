"""tools/infer.py: outputs, headers, overwriting, bad files, patient
folders."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
from test_inference import make_nifti, save_tiny_checkpoint, tiny_config

import ideal_mm  # noqa: F401
from ideal_mm.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'ideal_mm_infer_tool', os.path.join(REPO, 'tools', 'infer.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


infer = _load_tool()


@pytest.fixture(scope='module')
def model_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp('infer_model')
    cfg = tiny_config(pretrained=str(folder / 'encoder_never_made.pth'))
    cfg_file = str(folder / 'tiny_cfg.py')
    cfg.dump(cfg_file)
    ckpt = save_tiny_checkpoint(str(folder / 'tiny.pth'), tiny_config())
    return cfg_file, ckpt


def test_single_file_output_keeps_affine_and_header(model_files, tmp_path,
                                                    capsys):
    cfg_file, ckpt = model_files
    src = str(tmp_path / 'scan.nii.gz')
    ref = make_nifti(src, zooms=(1.4, 1.3, 8.0))
    before = open(src, 'rb').read()
    out_dir = tmp_path / 'out'
    assert infer.main([cfg_file, ckpt, src, '--out-dir', str(out_dir)]) == 0
    out = nib.load(str(out_dir / 'scan_pred.nii.gz'))
    assert out.shape == ref.shape
    assert out.get_data_dtype() == np.uint8
    labels = np.asarray(out.dataobj)
    assert labels.dtype == np.uint8
    assert set(np.unique(labels)) <= {0, 1, 2, 3}
    for getter in ('get_qform', 'get_sform'):
        got, got_code = getattr(out, getter)(coded=True)
        exp, exp_code = getattr(ref, getter)(coded=True)
        assert int(got_code) == int(exp_code)
        np.testing.assert_allclose(got, exp)
    np.testing.assert_allclose(out.affine, ref.affine)
    assert out.header.get_zooms() == ref.header.get_zooms()
    assert out.header.get_xyzt_units() == ref.header.get_xyzt_units()
    # same result as the Python API
    from ideal_mm.apis import init_model, segment_volume
    expected = segment_volume(init_model(cfg_file, ckpt), src)
    np.testing.assert_array_equal(labels, expected)
    # summary line: volumes in ml from voxel spacing
    voxel_ml = 1.4 * 1.3 * 8.0 / 1000
    lv = (expected == 3).sum() * voxel_ml
    text = capsys.readouterr().out
    assert re.search(rf'scan: LV {lv:.1f} ml, RV [\d.]+ ml, Myo [\d.]+ ml',
                     text), text
    assert open(src, 'rb').read() == before
    assert not [f for f in os.listdir(out_dir) if f.endswith('.tmp')]


def test_existing_output_is_kept_unless_overwrite(model_files, tmp_path,
                                                  capsys):
    cfg_file, ckpt = model_files
    src = str(tmp_path / 'scan.nii.gz')
    make_nifti(src)
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    out_file = out_dir / 'scan_pred.nii.gz'
    placeholder = nib.Nifti1Image(np.zeros((40, 36, 5), np.uint8), np.eye(4))
    nib.save(placeholder, str(out_file))
    stamp = open(out_file, 'rb').read()
    assert infer.main([cfg_file, ckpt, src, '--out-dir', str(out_dir)]) == 0
    assert 'exists, kept' in capsys.readouterr().out
    assert open(out_file, 'rb').read() == stamp
    assert infer.main(
        [cfg_file, ckpt, src, '--out-dir',
         str(out_dir), '--overwrite']) == 0
    assert open(out_file, 'rb').read() != stamp
    # an input is never overwritten, even with --overwrite
    with pytest.raises(ConfigError, match='overwrite an input'):
        infer.main([
            cfg_file, ckpt, src, '--out-dir',
            str(tmp_path), '--name-template', '{name}.nii.gz', '--overwrite'
        ])


def test_folder_with_corrupt_file_processes_the_others(model_files, tmp_path,
                                                       capsys):
    cfg_file, ckpt = model_files
    folder = tmp_path / 'scans'
    folder.mkdir()
    make_nifti(str(folder / 'a.nii.gz'), seed=1)
    make_nifti(str(folder / 'c.nii.gz'), seed=2, shape=(30, 30, 3))
    good = open(folder / 'a.nii.gz', 'rb').read()
    (folder / 'b.nii.gz').write_bytes(good[:len(good) // 2])  # truncated
    nib.save(
        nib.Nifti1Image(np.zeros((4, 4, 2), np.uint8), np.eye(4)),
        str(folder / 'a_gt.nii.gz'))  # ignored as an input
    out_dir = tmp_path / 'out'
    code = infer.main([cfg_file, ckpt, str(folder), '--out-dir', str(out_dir)])
    assert code == 1
    assert sorted(os.listdir(out_dir)) == ['a_pred.nii.gz', 'c_pred.nii.gz']
    assert nib.load(str(out_dir / 'c_pred.nii.gz')).shape == (30, 30, 3)
    captured = capsys.readouterr()
    assert 'b.nii.gz' in captured.err and '1 input(s) failed' in captured.err
    assert '2 of 3 volume(s) segmented' in captured.out


def test_data_root_reports_ejection_fractions_and_montages(
        model_files, tmp_path, capsys):
    from ideal_mm.datasets.phantom import make_phantom_acdc
    from ideal_mm.evaluation.clinical import cardiac_function, format_function
    cfg_file, ckpt = model_files
    root = str(tmp_path / 'acdc')
    make_phantom_acdc(
        root, num_patients=2, size=(40, 40), num_slices=(3, 3), with_4d=True)
    out_dir, show_dir = tmp_path / 'pred', tmp_path / 'png'
    code = infer.main([
        cfg_file, ckpt, root, '--out-dir',
        str(out_dir), '--show-dir',
        str(show_dir), '--tta'
    ])
    assert code == 0
    text = capsys.readouterr().out
    for pid in ('patient001', 'patient002'):
        folder = os.path.join(root, 'training', pid)
        info = dict(
            line.split(': ') for line in open(
                os.path.join(folder, 'Info.cfg')).read().split('\n') if line)
        stems = [f'{pid}_frame{int(info[k]):02d}' for k in ('ED', 'ES')]
        for stem in stems:
            assert (out_dir / f'{stem}_pred.nii.gz').is_file()
            assert (show_dir / f'{stem}.png').stat().st_size > 0
        gts = [nib.load(os.path.join(folder, s + '_gt.nii.gz')) for s in stems]
        zooms = gts[0].header.get_zooms()
        expected = cardiac_function(
            np.asarray(gts[0].dataobj), np.asarray(gts[1].dataobj), zooms)
        assert f'{pid} ground truth: {format_function(expected)}' in text
        assert f'{pid} prediction: LV EDV' in text
    assert not any('_4d' in f for f in os.listdir(out_dir))
    assert len(os.listdir(out_dir)) == 4


def test_cli_prints_user_error_without_traceback(model_files, tmp_path):
    cfg_file, _ = model_files
    src = str(tmp_path / 'scan.nii.gz')
    make_nifti(src)
    proc = subprocess.run([
        sys.executable,
        os.path.join(REPO, 'tools', 'infer.py'), cfg_file,
        str(tmp_path / 'missing.pth'), src, '--out-dir',
        str(tmp_path / 'out')
    ],
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    assert 'missing.pth' in proc.stderr and 'does not exist' in proc.stderr
