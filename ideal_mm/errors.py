"""Errors a user can cause and fix, and how command-line tools report them.

Every error raised for bad input (a path, a file, a config value) is an
:class:`IdealMMError` whose message names the file or config key and says how
to fix it. Command-line tools run their ``main`` through :func:`run_cli`, which
prints such errors in one or two lines without a traceback and exits non-zero.
"""
from __future__ import annotations

import errno
import pickle
import sys
from typing import Callable, Dict, NoReturn, Optional, Type


class IdealMMError(Exception):
    """Base class: bad input that the user can fix; the message says how."""


class DataError(IdealMMError, ValueError):
    """A data file or folder is missing, corrupt or inconsistent."""


class ConfigError(IdealMMError, ValueError):
    """A config value is invalid (the message names the key)."""


class CheckpointError(IdealMMError, RuntimeError):
    """A checkpoint is missing, unsafe to load or of another architecture.

    Where ideal_mm takes over a library's checkpoint loading (mmengine's
    local-file loader, see :mod:`ideal_mm.compat.checkpoint`), the error
    raised is a subclass that is also the exception the library raises there,
    so ``except OSError`` / ``except pickle.UnpicklingError`` around
    ``init_weights()`` or ``load_checkpoint`` keeps working.
    """

    def __str__(self) -> str:
        # the message, also when mixed with KeyError (which would quote it)
        # or OSError (which would format errno/filename)
        return BaseException.__str__(self)


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A checkpoint path that is not a file.

    Also a :class:`FileNotFoundError` (an :class:`OSError`, ``errno`` ENOENT),
    which mmengine raises for a missing local checkpoint.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.errno = errno.ENOENT


class CheckpointUnsafeError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint holds objects outside the weights-only allow-list.

    Also a :class:`pickle.UnpicklingError`, which
    ``torch.load(weights_only=True)`` raises when it refuses a global.
    """


class CheckpointCorruptError(CheckpointError):
    """A checkpoint file is truncated, corrupt or not a PyTorch checkpoint.

    Create it with :func:`corrupt_checkpoint_error`: the instance is also of
    the type ``torch.load`` raised for that file (``RuntimeError`` for a cut
    zip archive, ``EOFError`` for an empty file, ``pickle.UnpicklingError``,
    ``KeyError``, ``struct.error``, ...). ``library_type`` names that type.
    """

    library_type: Type[BaseException] = RuntimeError

    def __reduce__(self):
        return (corrupt_checkpoint_error, (BaseException.__str__(self),
                                           self.library_type))


_CORRUPT_CLASSES: Dict[type, Optional[type]] = {}


def _corrupt_class(base: type) -> Optional[type]:
    """CheckpointCorruptError mixed with ``base``; None if they cannot mix."""
    if issubclass(CheckpointCorruptError, base):
        return CheckpointCorruptError
    if base not in _CORRUPT_CLASSES:
        try:
            cls = type(
                'CheckpointCorruptError', (CheckpointCorruptError, base), {
                    '__module__': __name__,
                    'library_type': base,
                    '__doc__': CheckpointCorruptError.__doc__
                })
            cls.__qualname__ = f'CheckpointCorruptError[{base.__name__}]'
        except TypeError:  # incompatible instance layouts
            cls = None
        _CORRUPT_CLASSES[base] = cls
    return _CORRUPT_CLASSES[base]


def corrupt_checkpoint_error(
        message: str, like: Type[BaseException]) -> CheckpointCorruptError:
    """A :class:`CheckpointCorruptError` that is also an instance of ``like``.

    ``like`` is the exception type the library raised; when it cannot be
    mixed in (another instance layout, a constructor needing more arguments),
    the nearest base class of ``like`` that can is used.
    """
    for base in like.__mro__:
        if not (isinstance(base, type) and issubclass(base, Exception)):
            continue
        cls = _corrupt_class(base)
        if cls is None:
            continue
        try:
            return cls(message)
        except TypeError:
            continue
    return CheckpointCorruptError(message)


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
