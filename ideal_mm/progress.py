"""Progress bars whose per-item lines do not break them.

A tqdm bar redraws its line in place; anything else printed to the terminal
while it is shown (a warning, a log line) splits the bar over several lines.
tqdm's answer is ``tqdm.write`` (and ``tqdm.contrib.logging.
logging_redirect_tqdm`` for loggers); :func:`bar_safe_output` applies both to
Python warnings, the root logger and mmengine's loggers for as long as a bar
is shown, and :func:`progress_bar` is a tqdm bar that does so. Shared by the
data layer (volume cache, phantom), the probes and the tools, so it lives
here and imports nothing from ideal_mm.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from typing import Any, Iterable, Iterator, List, TypeVar

__all__ = ['bar_safe_output', 'progress_bar']

T = TypeVar('T')


def _console_loggers() -> List[logging.Logger]:
    """The root logger and mmengine's loggers (when mmengine is loaded)."""
    loggers = [logging.getLogger()]
    if 'mmengine.logging' in sys.modules:
        from mmengine.logging import MMLogger
        loggers += [
            lg for lg in MMLogger._instance_dict.values()
            if isinstance(lg, logging.Logger)
        ]
    return loggers


@contextlib.contextmanager
def bar_safe_output() -> Iterator[None]:
    """Inside: warnings are shown with the bars cleared and redrawn below
    them (``tqdm.external_write_mode``), console log lines go through
    ``tqdm.write``."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    previous = warnings.showwarning

    def show(message: Any,
             category: Any,
             filename: str,
             lineno: int,
             file: Any = None,
             line: Any = None) -> None:
        # clear the bars, show the warning as before (so recorders such as
        # pytest.warns still see it), redraw the bars below it
        with tqdm.external_write_mode(file=file or sys.stderr):
            previous(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        with logging_redirect_tqdm(loggers=_console_loggers()):
            yield
    finally:
        warnings.showwarning = previous


def progress_bar(iterable: Iterable[T],
                 enabled: bool = True,
                 **kwargs: Any) -> Iterator[T]:
    """Items of ``iterable`` under a tqdm bar (``kwargs`` go to tqdm); while
    the bar is shown, warnings and log lines go through ``tqdm.write``.
    ``enabled=False`` yields the items without a bar."""
    if not enabled:
        yield from iterable
        return
    from tqdm import tqdm
    with bar_safe_output():
        yield from tqdm(iterable, **kwargs)
