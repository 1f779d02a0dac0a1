"""Test-only hook: SIGKILL this process at a given training iteration.

``IDEAL_MM_TEST_KILL_AT=k`` kills the run right after iteration k's update
(before anything saves it); unset, the hook does nothing, so the same config
resumes normally. Import with ``custom_imports`` (tests/ on PYTHONPATH).
"""
from __future__ import annotations

import os
import signal
from typing import Any, Optional

from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module(force=True)
class SelfKillHook(Hook):
    """``os.kill(getpid(), SIGKILL)`` after iteration
    ``$IDEAL_MM_TEST_KILL_AT``."""

    priority = 'HIGHEST'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[Any] = None,
                         outputs: Optional[Any] = None) -> None:
        """Kill the process when the 1-based iteration is the one asked."""
        at = int(os.environ.get('IDEAL_MM_TEST_KILL_AT', '0') or 0)
        if at and runner.iter + 1 == at:
            os.kill(os.getpid(), signal.SIGKILL)
