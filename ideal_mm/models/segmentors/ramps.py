"""Consistency-weight schedules for semi-supervised training.

The sigmoid ramp-up of Laine & Aila (2017), as SSL4MIS and IDEAL use it, and
the helper that reads the current training iteration from mmengine's
``MessageHub`` (set by ``RuntimeInfoHook`` before every training iteration).
"""
from __future__ import annotations

import math

from mmengine.logging import MessageHub


def sigmoid_rampup(current: float, rampup_length: float) -> float:
    """Sigmoid ramp-up from ~0 to 1.

    ``r(t) = exp(-5 * (1 - t / T)**2)`` with ``t`` clipped to ``[0, T]``, so
    ``r(0) = exp(-5) ~ 0.0067`` and ``r(t) = 1`` for ``t >= T``. ``T <= 0``
    means no ramp-up (always 1).

    Args:
        current: the current step ``t`` (iteration or epoch).
        rampup_length: the ramp-up length ``T`` in the same unit.
    """
    if rampup_length <= 0:
        return 1.0
    t = min(max(float(current), 0.0), float(rampup_length))
    phase = 1.0 - t / float(rampup_length)
    return float(math.exp(-5.0 * phase * phase))


def consistency_weight(current: float, max_weight: float,
                       rampup_length: float) -> float:
    """Ramped consistency weight ``w(t) = lambda * exp(-5 (1 - t/T)^2)``.

    Args:
        current: the current iteration ``t``.
        max_weight: ``lambda``, the weight reached at ``t >= T``.
        rampup_length: ``T`` in iterations.
    """
    return float(max_weight) * sigmoid_rampup(current, rampup_length)


def current_train_iter() -> int:
    """The runner's current iteration (0 before training or outside a runner).

    mmengine's ``RuntimeInfoHook.before_train_iter`` writes ``iter`` into the
    current ``MessageHub``'s runtime info; models read it from there because
    ``loss()`` has no access to the runner.
    """
    return int(MessageHub.get_current_instance().get_info('iter', 0) or 0)
