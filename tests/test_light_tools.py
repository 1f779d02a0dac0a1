"""Light command lines and a light ``import ideal_mm``.

Each check runs in a fresh interpreter (the test process has torch and
mmseg loaded already): which heavy packages a tool imports, and that
components are registered whatever the import order. Speed itself is
measured by tools/analysis/benchmark_cli.py, not asserted here.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
HEAVY = ('torch', 'mmseg', 'mmcv', 'mmengine.runner')
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))
from benchmark_cli import tool_scripts  # noqa: E402

TOOLS = tool_scripts(REPO)


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c',
                           textwrap.dedent(code), *args],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300,
                          env=dict(os.environ, PYTHONPATH=REPO))


RUN_TOOL = """
import runpy, sys, json
tool, argv = sys.argv[1], sys.argv[2:]
sys.argv = [tool] + argv
code = 0
try:
    runpy.run_path(tool, run_name='__main__')
except SystemExit as exc:
    code = exc.code or 0
heavy = [m for m in %r if m in sys.modules]
print('RESULT', json.dumps(dict(code=code, heavy=heavy)))
""" % (HEAVY, )


def _run_tool(tool: str, *argv: str) -> dict:
    proc = _python(RUN_TOOL, tool, *argv)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT')]
    assert lines, proc.stderr
    return json.loads(lines[-1][len('RESULT '):])


def test_every_tool_is_found():
    assert 'tools/evaluate.py' in TOOLS and 'tools/train.py' in TOOLS
    assert 'tools/analysis/browse_dataset.py' in TOOLS
    assert len(TOOLS) >= 15


@pytest.mark.parametrize('tool', TOOLS)
def test_help_imports_no_torch_or_mmseg(tool):
    res = _run_tool(tool, '--help')
    assert res == dict(code=0, heavy=[])


def test_import_ideal_mm_is_light():
    proc = _python(f"""
        import sys, ideal_mm
        assert ideal_mm.__version__
        print([m for m in {HEAVY!r} if m in sys.modules])
        """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '[]'


def test_evaluate_runs_without_torch(tmp_path):
    """evaluate.py reads label maps and computes metrics: no torch, no
    mmseg, no mmcv in the process (the test fails if any is imported)."""
    import nibabel as nib
    pred_dir, gt_dir = tmp_path / 'pred', tmp_path / 'gt'
    pred_dir.mkdir()
    gt_dir.mkdir()
    gt = np.zeros((20, 20, 4), np.uint8)
    gt[4:12, 4:12] = 1
    gt[12:16, 6:14] = 2
    gt[8:10, 8:10] = 3
    pred = np.roll(gt, 1, axis=0)
    affine = np.diag([1.5, 1.5, 8.0, 1.0])
    nib.save(nib.Nifti1Image(gt, affine), str(gt_dir / 'case1_gt.nii.gz'))
    nib.save(nib.Nifti1Image(pred, affine), str(pred_dir / 'case1.nii.gz'))
    out = tmp_path / 'summary.json'
    res = _run_tool('tools/evaluate.py', '--pred-dir', str(pred_dir),
                    '--gt-dir', str(gt_dir), '--out', str(out))
    assert res == dict(code=0, heavy=[])
    summary = json.loads(out.read_text())
    assert 'RV' in json.dumps(summary)


ORDER = """
import sys
first = sys.argv[1]
if first == 'ideal_mm':
    import ideal_mm
    from mmengine.config import Config
else:
    from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
cfg = Config.fromfile(sys.argv[2])
if first != 'ideal_mm':
    import ideal_mm  # after the config: nothing left to do
init_default_scope('mmseg')
model = MODELS.build(cfg.model)
import mmcv.ops
print('BUILT', type(model).__name__,
      getattr(mmcv.ops, 'IDEAL_MM_STAND_IN', False))
"""


@pytest.mark.parametrize('first', ['ideal_mm', 'mmengine'])
@pytest.mark.parametrize('config', [
    'configs/demo/ideal_unet_phantom_finetune.py',
    'configs/demo/ideal_unet_phantom_pretrain.py'
])
def test_shipped_config_builds_in_either_import_order(first, config):
    proc = _python(ORDER, first, config)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith('BUILT')]
    name = ('BiConsistencySemiSupModel'
            if 'finetune' in config else 'DenseContrastivePretrainer')
    assert line and line[0].split()[1] == name
    from ideal_mm.compat import mmcv_has_compiled_ops

    # the compat layer ran before mmseg's models were imported
    assert line[0].split()[2] == str(not mmcv_has_compiled_ops())


def test_mmseg_first_then_import_ideal_mm_registers():
    proc = _python("""
        import mmseg.registry
        import ideal_mm
        from mmseg.registry import MODELS
        print(MODELS.get('BiConsistencySemiSupModel') is not None)
        """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == 'True'


def test_parts_load_on_first_use():
    proc = _python("""
        import sys, ideal_mm
        assert 'ideal_mm.models' not in sys.modules
        from mmseg.registry import MODELS  # compat hook fires on mmseg
        assert 'ideal_mm.compat' in sys.modules
        assert MODELS.get('DenseConvProjHead') is None  # not yet registered
        ideal_mm.models  # attribute access imports the part
        assert MODELS.get('DenseConvProjHead') is not None
        try:
            ideal_mm.no_such_part
        except AttributeError as err:
            print('ok', err)
        """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "has no attribute 'no_such_part'" in proc.stdout


def test_lines_during_a_bar_stay_whole():
    """A warning and a log line printed inside progress_bar start their own
    terminal line (the bar is cleared first and redrawn below), and the
    warning hook is undone afterwards. In a fresh interpreter: pytest
    records warnings instead of printing them."""
    proc = _python("""
        import logging, warnings
        from ideal_mm.progress import progress_bar
        before = warnings.showwarning
        warnings.simplefilter('always')
        for i in progress_bar(range(3), desc='bar', mininterval=0):
            if i == 1:
                warnings.warn('odd header in case 1')
                logging.getLogger().warning('root line')
        assert warnings.showwarning is before
        assert list(progress_bar(range(3), enabled=False)) == [0, 1, 2]
        """)
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    # what a terminal shows of each line: the text after its last \r
    shown = [ln.rsplit('\r', 1)[-1] for ln in err.split('\n')]
    assert any(
        ln.startswith('<string>:') and 'odd header in case 1' in ln
        for ln in shown), err
    assert 'root line' in shown, err
    assert 'bar: 100%' in err


def test_a_warning_in_a_bar_is_still_recorded():
    from ideal_mm.progress import progress_bar
    with pytest.warns(UserWarning, match='recorded'):
        for _ in progress_bar(range(2), disable=True):
            import warnings
            warnings.warn('recorded')
