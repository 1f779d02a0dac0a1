"""Run mmsegmentation's own model tests with ideal_mm imported first.

``make test-mmseg`` (run by ``.ci/run`` after ``make test``) calls this script.
ideal_mm is imported into every process that uses it (``custom_imports``) and
its compat layer replaces parts of mmcv and mmengine process-wide, so mmseg's
own tests are the check that mmseg's and mmengine's contracts still hold
(exception types included) with ideal_mm loaded.

The tests are the ``tests/test_models`` package that the mmsegmentation wheel
ships (found through the installed distribution's file list), or a folder
given with ``--tests-dir`` (``make test-mmseg`` extracts it from the PyPI
wheel when the installed one lacks it). The whole of ``tests/test_models``
runs: about two minutes on 2 CPU cores.

Failures this environment explains are listed in :data:`EXPECTED_FAILURES`,
each with the reason and what the test needs (a compiled mmcv op, a config
file that only the source tree has, an optional package). An entry is
expected to fail only while one of its needs is missing: with full mmcv
(``make install-mmcv-full``) the compiled-op entries are expected to pass,
and a test on the list that passes is an error (``XPASS(strict)``), so the
list cannot go stale. Any failure not on the list, a listed failure with
another error than the one described, or a list entry that names no test
fails the run (exit status 1).

Usage::

    python tools/ci/run_mmseg_tests.py [--tests-dir DIR] [-- PYTEST ARGS]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Type

# ideal_mm first, before anything imports mmseg (light: it installs the hook
# that applies its compat layer before mmseg loads); main() then registers
# everything as a config's custom_imports would. Its compat layer must be
# what mmseg's tests run against.
import ideal_mm  # noqa: E402  isort: skip
import pytest  # noqa: E402

MMSEG_VERSION = '1.2.2'

COMPILED_OP = 'compiled op'
CONFIG = 'config not shipped'
PACKAGE = 'optional package'


@dataclass(frozen=True)
class Need:
    """Something a test needs that an environment may lack.

    ``kind`` is :data:`COMPILED_OP` (mmcv's compiled extension), :data:`CONFIG`
    (``what`` is a file or folder relative to the folder above ``tests/``: the
    source tree has ``configs/``, the wheel does not) or :data:`PACKAGE`
    (``what`` is an importable module name).
    """
    kind: str
    what: str = ''

    def missing(self, tests_root: str) -> bool:
        """True when this environment lacks it."""
        if self.kind == COMPILED_OP:
            from ideal_mm.compat import mmcv_has_compiled_ops
            return not mmcv_has_compiled_ops()
        if self.kind == CONFIG:
            top = os.path.dirname(os.path.dirname(os.path.abspath(tests_root)))
            return not os.path.exists(os.path.join(top, self.what))
        if self.kind == PACKAGE:
            return importlib.util.find_spec(self.what) is None
        raise ValueError(f'unknown need kind {self.kind!r}')

    def describe(self) -> str:
        return f'{self.kind} {self.what}'.strip()


@dataclass(frozen=True)
class Expected:
    """A test of mmseg's that fails while one of ``needs`` is missing.

    ``nodeid`` is relative to ``tests/test_models``; a file alone means that
    module fails to import (a collection error). ``raises`` and ``match`` (a
    regex searched in the error message) describe the failure: another error
    is reported as a failure.
    """
    nodeid: str
    needs: Tuple[Need, ...]
    why: str
    raises: Type[BaseException] = Exception
    match: str = ''

    def missing(self, tests_root: str) -> List[Need]:
        return [n for n in self.needs if n.missing(tests_root)]

    def reason(self, tests_root: str) -> str:
        missing = ', '.join(n.describe() for n in self.missing(tests_root))
        return f'{self.why} [missing: {missing}]'


OPS = (Need(COMPILED_OP), )
SOURCE_CONFIGS = 'configs'  # test_forward.py's own check
VPD_CONFIG = 'configs/_base_/models/vpd_sd.py'
MASKFORMER_CONFIG = ('configs/maskformer/'
                     'maskformer_r50-d32_8xb2-160k_ade20k-512x512.py')
NO_CONFIG = r'Cannot find config path|No such file or directory: .*configs'


def _forward(name: str) -> Expected:
    return Expected(f'test_forward.py::{name}',
                    (Need(CONFIG, SOURCE_CONFIGS), ),
                    'builds segmentors from configs/ of the source tree',
                    Exception, NO_CONFIG)


# mmsegmentation 1.2.2, tests/test_models. Keep each entry's reason; an entry
# whose needs are all met is not expected to fail (and so must pass).
EXPECTED_FAILURES: Tuple[Expected, ...] = (
    # --- compiled op: mmcv-lite has no mmcv._ext (pass with full mmcv) ------
    Expected('test_backbones/test_resnet.py', OPS,
             'imports mmcv.ops.DeformConv2dPack at module level', ImportError,
             r'DeformConv2dPack'),
    # ... and with full mmcv it imports, and then this one needs torchvision
    # (not a dependency) and the network (torchvision://resnet18 weights)
    Expected('test_backbones/test_resnet.py::test_resnet_backbone',
             (Need(PACKAGE, 'torchvision'), ),
             "loads pretrained='torchvision://resnet18'", ModuleNotFoundError,
             r'torchvision'),
    Expected('test_backbones/test_resnext.py::test_renext_bottleneck', OPS,
             "builds conv type 'DCN', which mmcv.ops registers", KeyError,
             r'Cannot find None in registry'),
    Expected('test_heads/test_cc_head.py::test_cc_head', OPS,
             'CCHead needs mmcv.ops.CrissCrossAttention', RuntimeError,
             r'CrissCrossAttention'),
    Expected('test_heads/test_psa_head.py::test_psa_head', OPS,
             'PSAHead needs mmcv.ops.PSAMask', RuntimeError, r'PSAMask'),
    # --- config not shipped: the wheel has tests/ but not configs/ ---------
    *(_forward(name)
      for name in ('test_pspnet_forward', 'test_fcn_forward',
                   'test_deeplabv3_forward', 'test_deeplabv3plus_forward',
                   'test_gcnet_forward', 'test_upernet_forward',
                   'test_hrnet_forward', 'test_ocrnet_forward',
                   'test_sem_fpn_forward', 'test_mobilenet_v2_forward')),
    # (test_forward.py::test_ccnet_forward is skipped by mmseg without CUDA)
    Expected('test_heads/test_maskformer_head.py::test_maskformer_head',
             (Need(CONFIG, MASKFORMER_CONFIG), Need(PACKAGE, 'mmdet')),
             'reads its config from configs/; the head subclasses mmdet\'s',
             Exception, NO_CONFIG + r'|unexpected keyword'),
    # VPD also downloads class embeddings from download.openmmlab.com
    Expected(
        'test_backbones/test_vpd.py::TestVPD::test_forward',
        (Need(CONFIG, VPD_CONFIG), Need(PACKAGE, 'ldm')),
        'reads configs/_base_/models/vpd_sd.py; VPD needs stable '
        'diffusion (ldm)', Exception, NO_CONFIG + r'|ldm'),
    *(Expected(
        f'test_segmentors/test_depth_estimator.py::TestDepthEstimator::'
        f'{name}', (Need(CONFIG, VPD_CONFIG), Need(PACKAGE, 'ldm')),
        'builds a VPD depth estimator from configs/_base_/models/'
        'vpd_sd.py (needs ldm)', Exception, NO_CONFIG + r'|ldm')
      for name in ('test__forward', 'test_slide_flip_inference')),
    # --- optional package: not a dependency of mmseg or ideal_mm ------------
    Expected('test_backbones/test_timm_backbone.py::test_timm_backbone',
             (Need(PACKAGE, 'timm'), ), 'TIMMBackbone wraps timm',
             RuntimeError, r'timm is not installed'),
    Expected(
        'test_heads/test_mask2former_head.py::test_mask2former_head',
        (Need(PACKAGE, 'mmdet'), Need(COMPILED_OP)),
        'the head subclasses mmdet\'s Mask2FormerHead (its pixel decoder '
        'uses MultiScaleDeformableAttention, a compiled op)', Exception,
        r'unexpected keyword argument|mmdet|MultiScaleDeformable'),
)


def _rel(path: str, tests_root: str) -> str:
    return os.path.relpath(str(path), tests_root).replace(os.sep, '/')


class ExpectedFailures:
    """pytest plugin: applies an expected-failure list to a test tree.

    Active entries (a need missing) mark their test ``xfail(strict=True,
    raises=...)`` and check the error message; an expected collection error
    becomes a skipped module. At the end, an expected collection error that
    did not happen and an entry that names no collected test fail the run.
    """

    def __init__(self,
                 tests_root: str,
                 expected: Iterable[Expected] = EXPECTED_FAILURES) -> None:
        self.tests_root = os.path.abspath(tests_root)
        self.entries: Dict[str, Expected] = {}
        for entry in expected:
            if entry.nodeid in self.entries:
                raise ValueError(f'{entry.nodeid} is listed twice')
            self.entries[entry.nodeid] = entry
        self.active = {
            k: e
            for k, e in self.entries.items() if e.missing(self.tests_root)
        }
        self.seen: set = set()
        self.expected_errors: List[str] = []  # collection errors as expected
        self.problems: List[str] = []

    # -- keys ---------------------------------------------------------------
    def _item_key(self, item: pytest.Item) -> str:
        nodeid = item.nodeid
        tail = nodeid[nodeid.index('::'):] if '::' in nodeid else ''
        return _rel(item.path, self.tests_root) + tail

    # -- collection ---------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector):
        outcome = yield
        if not isinstance(collector, pytest.Module):
            return
        key = _rel(collector.path, self.tests_root)
        self.seen.add(key)
        entry = self.active.get(key)
        if entry is None:
            return
        report = outcome.get_result()
        reason = entry.reason(self.tests_root)
        if report.passed:
            self.problems.append(
                f'{key}: expected a collection error ({reason}) but it '
                'imports; remove the entry or correct its needs')
            return
        # a module's error is matched in the whole report (``raises`` is not
        # checked: the import error is reported as text)
        if entry.match and not re.search(entry.match, str(report.longrepr)):
            return  # another error: stays a collection error
        if report.failed:
            self.expected_errors.append(key)
            # its tests cannot be collected: their entries are not stale
            self.seen.update(
                k for k in self.entries if k.startswith(key + '::'))
            outcome.force_result(
                pytest.CollectReport(report.nodeid, 'skipped',
                                     (str(collector.path), 0,
                                      f'expected collection error: {reason}'),
                                     []))

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        self.seen.add(self._item_key(item))

    def pytest_collection_modifyitems(self, items: List[pytest.Item]) -> None:
        for item in items:
            entry = self.active.get(self._item_key(item))
            if entry is not None:
                item.add_marker(
                    pytest.mark.xfail(
                        reason=entry.reason(self.tests_root),
                        strict=True,
                        raises=entry.raises))

    # -- results ------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call):
        outcome = yield
        report = outcome.get_result()
        entry = self.active.get(self._item_key(item))
        if (entry is None or not entry.match or call.excinfo is None
                or not getattr(report, 'wasxfail', None)):
            return
        message = str(call.excinfo.value)
        if re.search(entry.match, message) is None:
            # an expected test that fails for another reason is a failure
            report.outcome = 'failed'
            del report.wasxfail
            report.sections.append((
                'ideal_mm expected-failure list',
                f'{entry.nodeid} is expected to fail ({entry.why}) with an '
                f'error matching {entry.match!r}, but failed with: {message}'))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for key in sorted(set(self.entries) - self.seen):
            self.problems.append(
                f'{key}: listed as an expected failure but no such test was '
                'collected; update the list for this mmseg version')

    def pytest_sessionfinish(self, session: pytest.Session,
                             exitstatus: int) -> None:
        if self.problems and exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        tr = terminalreporter
        tr.section('ideal_mm: expected-failure list')
        inactive = sorted(set(self.entries) - set(self.active))
        tr.write_line(
            f'{len(self.active)} of {len(self.entries)} entries expected to '
            f'fail here ({len(self.expected_errors)} as collection errors); '
            f'{len(inactive)} expected to pass (needs met)')
        kinds: Dict[str, int] = {}
        for entry in self.active.values():
            for need in entry.missing(self.tests_root):
                kinds[need.kind] = kinds.get(need.kind, 0) + 1
        for kind, count in sorted(kinds.items()):
            tr.write_line(f'  missing {kind}: {count} entries')
        for key in inactive:
            tr.write_line(f'  expected to pass: {key}')
        for problem in self.problems:
            tr.write_line(f'ERROR {problem}', red=True)


def find_mmseg_tests() -> Optional[str]:
    """``tests/test_models`` of the installed mmsegmentation, if it ships
    it."""
    from importlib import metadata
    try:
        dist = metadata.distribution('mmsegmentation')
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if str(file).replace('\\', '/') == 'tests/test_models/__init__.py':
            return os.path.dirname(str(dist.locate_file(file)))
    return None


def fetch_mmseg_tests(cache: str, version: str = MMSEG_VERSION) -> str:
    """``tests/test_models`` from the mmsegmentation wheel on PyPI, cached.

    For installs whose mmseg does not ship its tests (a source or editable
    install): ``pip download --no-deps`` of the wheel into ``cache``
    (checked against :data:`WHEEL_SHA256` for 1.2.2), then ``tests/`` is
    extracted next to it. A second call finds the extracted folder.
    """
    import hashlib
    import subprocess
    import zipfile
    top = os.path.join(cache, f'mmsegmentation-{version}')
    tests_root = os.path.join(top, 'tests', 'test_models')
    if os.path.isfile(os.path.join(tests_root, '__init__.py')):
        return tests_root
    os.makedirs(cache, exist_ok=True)
    wheel = os.path.join(cache, f'mmsegmentation-{version}-py3-none-any.whl')
    if not os.path.isfile(wheel):
        subprocess.check_call([
            sys.executable, '-m', 'pip', 'download', '--no-deps',
            '--only-binary', ':all:', '-d', cache, f'mmsegmentation=={version}'
        ])
    expected = WHEEL_SHA256.get(version)
    with open(wheel, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if expected and digest != expected:
        raise SystemExit(f'error: {wheel} has sha256 {digest}, expected '
                         f'{expected} (the PyPI wheel); delete it and retry')
    partial = top + '.partial'
    with zipfile.ZipFile(wheel) as zf:
        members = [m for m in zf.namelist() if m.startswith('tests/')]
        zf.extractall(partial, members)
    os.replace(partial, top)  # whole or nothing
    return tests_root


WHEEL_SHA256 = {
    '1.2.2': 'dadf62bba00a65947d71b08471bc1fe2fee8e2d6eb740381eecd03991e204b47'
}


def pytest_args(tests_root: str, extra: Sequence[str] = ()) -> List[str]:
    """The pytest command line for ``tests_root`` (``extra`` appended)."""
    return [
        tests_root, '--rootdir', tests_root, '-c', os.devnull, '-p',
        'no:cacheprovider', '--continue-on-collection-errors', '-q', '-rfEsxX',
        '--disable-warnings', *extra
    ]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--tests-dir',
        help='a tests/test_models folder (default: the one '
        'the installed mmsegmentation wheel ships)')
    parser.add_argument(
        '--fetch-into',
        metavar='CACHE',
        help='when the installed mmseg ships '
        'no tests: download its wheel from PyPI into CACHE and use its tests')
    parser.add_argument(
        'pytest_args',
        nargs='*',
        help='passed to pytest after "--" (e.g. -x, -k vit)')
    args = parser.parse_args(argv)
    ideal_mm.register_all_modules()
    import mmseg
    tests_root = args.tests_dir or find_mmseg_tests()
    if tests_root is None and args.fetch_into:
        tests_root = fetch_mmseg_tests(args.fetch_into, mmseg.__version__)
    if tests_root is None or not os.path.isfile(
            os.path.join(tests_root, '__init__.py')):
        print(
            f'error: no mmseg tests/test_models found '
            f'({tests_root or "the installed wheel ships none"}); '
            'run `make test-mmseg`, which extracts it from the '
            f'mmsegmentation=={MMSEG_VERSION} wheel, or pass --tests-dir',
            file=sys.stderr)
        return 2
    if mmseg.__version__ != MMSEG_VERSION:
        print(
            f'warning: mmseg {mmseg.__version__} is installed; the '
            f'expected-failure list is for {MMSEG_VERSION}',
            file=sys.stderr)
    import mmcv

    from ideal_mm.compat import mmcv_has_compiled_ops
    print(
        f'mmseg {mmseg.__version__} tests from {tests_root}; mmcv '
        f'{mmcv.__version__} '
        f'({"compiled ops" if mmcv_has_compiled_ops() else "no compiled ops"}'
        f'); ideal_mm {ideal_mm.__version__} imported first',
        flush=True)
    sys.dont_write_bytecode = True  # leave the installed tree as it is
    plugin = ExpectedFailures(tests_root)
    return int(
        pytest.main(
            pytest_args(tests_root, args.pytest_args), plugins=[plugin]))


if __name__ == '__main__':
    sys.exit(main())
