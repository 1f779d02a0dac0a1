"""tools/ci/run_mmseg_tests.py: the expected-failure list of ``make
test-mmseg``.

The list is checked against the mmseg tests the installed wheel ships, and the
plugin that applies it is run on a small generated test tree: known failures
pass the run; an unexpected failure, a known test failing otherwise, a known
failure that passes and a stale entry each fail it.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import textwrap

import pytest

pytest_plugins = ['pytester']

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_runner():
    name = 'ideal_mm_tool_run_mmseg_tests'
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(REPO, 'tools', 'ci', 'run_mmseg_tests.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


runner = _load_runner()
Expected, Need = runner.Expected, runner.Need

# the six tests of ISSUE 16: they must pass with ideal_mm, never be listed
CONTRACT_TESTS = (
    'test_backbones/test_beit.py::test_beit_init',
    'test_backbones/test_mae.py::test_mae_init',
    'test_backbones/test_mit.py::test_mit_init',
    'test_backbones/test_twins.py::test_svt_init',
    'test_backbones/test_twins.py::test_pcpvt_init',
    'test_backbones/test_vit.py::test_vit_init',
)


def test_expected_failures_are_well_formed():
    entries = runner.EXPECTED_FAILURES
    ids = [e.nodeid for e in entries]
    assert len(ids) == len(set(ids))
    kinds = {runner.COMPILED_OP, runner.CONFIG, runner.PACKAGE}
    for entry in entries:
        assert entry.why and entry.needs, entry.nodeid
        assert {n.kind for n in entry.needs} <= kinds, entry.nodeid
        assert all(n.what for n in entry.needs if n.kind != runner.COMPILED_OP)
        assert issubclass(entry.raises, BaseException)
    assert not set(ids) & set(CONTRACT_TESTS)
    # every entry's file is in the tests the installed mmseg ships
    root = runner.find_mmseg_tests()
    if root is None:
        pytest.skip('the installed mmsegmentation ships no tests/')
    for nodeid in ids + list(CONTRACT_TESTS):
        path, *names = nodeid.split('::')
        assert os.path.isfile(os.path.join(root, path)), nodeid
        with open(os.path.join(root, path)) as f:
            source = f.read()
        for name in names:  # class and function names are in the file
            assert f'class {name}' in source or f'def {name}(' in source, \
                nodeid


def test_compiled_op_entries_follow_mmcv():
    """With full mmcv the compiled-op entries are expected to pass."""
    from ideal_mm.compat import mmcv_has_compiled_ops
    root = runner.find_mmseg_tests() or REPO
    ops = [
        e for e in runner.EXPECTED_FAILURES
        if e.needs == (Need(runner.COMPILED_OP), )
    ]
    assert len(ops) == 4
    for entry in ops:
        assert bool(entry.missing(root)) == (not mmcv_has_compiled_ops())


def _tree(pytester,
          known_test_body: str = "raise RuntimeError('xyz missing')",
          extra: str = '',
          broken_import: str = 'no_such_pkg_xyz') -> str:
    """A test tree like mmseg's; returns its root."""
    pytester.makepyfile(
        **{
            'test_models/test_a':
            textwrap.dedent(f'''
            def test_ok():
                pass

            def test_known():
                {known_test_body}

            def test_needs_met():
                pass
            {textwrap.indent(textwrap.dedent(extra), ' ' * 12).strip()}
            '''),
            'test_models/test_broken':
            f'import {broken_import}\n',
        })
    return str(pytester.path / 'test_models')


XYZ = (Need(runner.PACKAGE, 'no_such_pkg_xyz'), )
LIST = (
    Expected('test_a.py::test_known', XYZ, 'needs xyz', RuntimeError,
             r'xyz missing'),
    Expected('test_broken.py', XYZ, 'imports xyz', ImportError,
             r'no_such_pkg_xyz'),
    # in a module that fails to import: cannot be collected, is not stale
    Expected('test_broken.py::test_inside', XYZ, 'needs xyz too'),
    # its need is met: not expected to fail, so it must pass
    Expected('test_a.py::test_needs_met', (Need(runner.PACKAGE, 'os'), ),
             'needs os', AssertionError),
)


def _run(pytester, root: str, expected=LIST):
    plugin = runner.ExpectedFailures(root, expected)
    return pytester.runpytest(*runner.pytest_args(root), plugins=[plugin])


def test_known_failures_pass_the_run(pytester):
    root = _tree(pytester)
    result = _run(pytester, root)
    result.assert_outcomes(passed=2, xfailed=1, skipped=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        '*3 of 4 entries expected to fail here*',
        '*expected to pass: test_a.py::test_needs_met'
    ])


def test_an_unexpected_failure_fails_the_run(pytester):
    root = _tree(
        pytester,
        extra='''
        def test_new_failure():
            assert 1 == 2
        ''')
    result = _run(pytester, root)
    result.assert_outcomes(passed=2, failed=1, xfailed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(['FAILED *test_a.py::test_new_failure*'])


def test_an_unexpected_collection_error_fails_the_run(pytester):
    root = _tree(pytester)
    pytester.makepyfile(
        **{'test_models/test_other': 'import no_such_pkg_abc\n'})
    result = _run(pytester, root)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(['ERROR *test_other.py*'])
    result.assert_outcomes(passed=2, xfailed=1, skipped=1, errors=1)


@pytest.mark.parametrize(
    'body, shown',
    [
        ("raise RuntimeError('something else')", 'something else'),  # message
        ("raise ValueError('xyz missing')", 'ValueError'),  # type
    ])
def test_a_known_test_failing_otherwise_fails_the_run(pytester, body, shown):
    root = _tree(pytester, known_test_body=body)
    result = _run(pytester, root)
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f'*{shown}*'])


def test_a_known_failure_that_passes_fails_the_run(pytester):
    root = _tree(pytester, known_test_body='pass')
    result = _run(pytester, root)
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(['*XPASS(strict)*needs xyz*'])


def test_an_expected_collection_error_that_imports_fails_the_run(pytester):
    root = _tree(pytester, broken_import='os')
    result = _run(pytester, root)
    result.assert_outcomes(passed=2, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ['ERROR test_broken.py: expected a collection error*but it imports*'])


def test_a_stale_entry_fails_the_run(pytester):
    root = _tree(pytester)
    stale = LIST + (Expected('test_a.py::test_renamed', XYZ, 'gone'), )
    result = _run(pytester, root, stale)
    result.assert_outcomes(passed=2, xfailed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        'ERROR test_a.py::test_renamed: listed as an expected failure but no '
        'such test was collected*'
    ])
