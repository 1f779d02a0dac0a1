"""Errors a user can cause and fix, and how command-line tools report them.

Every error raised for bad input (a path, a file, a config value) is an
:class:`IdealMMError` whose message names the file or config key and says how to
fix it. Command-line tools run their ``main`` through :func:`run_cli`, which
prints such errors in one or two lines without a traceback and exits non-zero.
"""
from __future__ import annotations

import sys
from typing import Callable, NoReturn, Optional


class IdealMMError(Exception):
    """Base class: bad input that the user can fix; the message says how."""


class DataError(IdealMMError, ValueError):
    """A data file or folder is missing, corrupt or inconsistent."""


class ConfigError(IdealMMError, ValueError):
    """A config value is invalid (the message names the key)."""


class CheckpointError(IdealMMError, RuntimeError):
    """A checkpoint is missing, unsafe to load or of another architecture."""


def run_cli(main: Callable[[], Optional[int]]) -> NoReturn:
    """Run a tool's ``main`` and exit; user errors print without a traceback.

    Exit codes: ``main``'s return value (0 when None), 1 for an
    :class:`IdealMMError` or a missing file, 130 on Ctrl-C.
    """
    try:
        code = main()
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        sys.exit(130)
    except (IdealMMError, FileNotFoundError) as err:
        message = str(err).strip() or type(err).__name__
        print(f'error: {message}', file=sys.stderr)
        sys.exit(1)
    sys.exit(int(code or 0))
