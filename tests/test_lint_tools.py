"""tools/ci/lint_tools_match.py, which decides whether ``make lint`` installs
the pinned lint tools, and the pins themselves."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from importlib import metadata

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(REPO, 'tools', 'ci', 'lint_tools_match.py')


def _load_tool():
    spec = importlib.util.spec_from_file_location('ideal_mm_lint_tools_match',
                                                  TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mismatches_names_wrong_and_missing_pins_only():
    tool = _load_tool()
    installed = metadata.version('pytest')
    lines = [
        '# a comment line\n', '\n', f'pytest=={installed}  # right version\n',
        'pytest==0.0.1\n', 'surely-not-installed-pkg==1.0\n', 'numpy>=1\n'
    ]
    assert tool.mismatches(lines) == [
        f'pytest: {installed} installed, want 0.0.1',
        'surely-not-installed-pkg: not installed (want 1.0)',
    ]


def test_command_line_exit_codes(tmp_path):
    good = tmp_path / 'good.txt'
    good.write_text(f'pytest=={metadata.version("pytest")}\n')
    bad = tmp_path / 'bad.txt'
    bad.write_text('pytest==0.0.1\n')
    missing = tmp_path / 'missing.txt'
    runs = [
        subprocess.run([sys.executable, TOOL, *args],
                       capture_output=True,
                       text=True)
        for args in ([str(good)], [str(bad)], [], [str(missing)])
    ]
    assert [r.returncode for r in runs] == [0, 1, 2, 2]
    assert 'pytest: ' in runs[1].stdout and 'want 0.0.1' in runs[1].stdout
    assert 'usage:' in runs[2].stderr
    assert 'Traceback' not in runs[3].stderr
    assert f'cannot read {missing}' in runs[3].stderr


def test_lint_pins_are_exact_versions_of_the_three_tools():
    with open(os.path.join(REPO, 'requirements', 'lint.txt')) as f:
        pins = [line.split('#')[0].strip() for line in f]
    names = sorted(pin.split('==')[0] for pin in pins if pin)
    assert names == ['flake8', 'isort', 'yapf']
    assert all('==' in pin for pin in pins if pin)
