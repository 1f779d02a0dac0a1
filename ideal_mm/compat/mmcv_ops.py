"""A pure-PyTorch stand-in for ``mmcv.ops`` when mmcv has no compiled ops.

mmcv-lite (and a source install without ``MMCV_WITH_OPS``) ships the
``mmcv.ops`` package, but importing it fails at once because every op module
loads ``mmcv._ext``. mmsegmentation 1.2.x imports ``point_sample`` and
``sigmoid_focal_loss`` from ``mmcv.ops`` at module level without a guard
(``mmseg/utils/mask_classification.py``,
``mmseg/models/utils/point_sample.py``,
``mmseg/models/decode_heads/san_head.py``,
``mmseg/models/losses/focal_loss.py``), so ``import mmseg.models`` fails as a
whole. This module provides those two ops with mmcv's semantics in plain
PyTorch, including the exceptions mmcv raises (``AssertionError`` for inputs
its op rejects).

Every other name keeps the exception types a caller can see without ideal_mm:
``from mmcv.ops import NAME`` raises ``ModuleNotFoundError`` (what importing
``mmcv.ops`` raises on mmcv-lite), with a message naming the op and how to get
full mmcv, so mmseg's own ``try: ... except ModuleNotFoundError`` guards keep
working; an attribute probe (``hasattr(mmcv.ops, NAME)``,
``getattr(mmcv.ops, NAME, None)``) gets the ``AttributeError`` of any module.
"""
from __future__ import annotations

import dis
import sys
import types
from typing import Optional

import torch
import torch.nn.functional as F

FULL_MMCV_HINT = (
    'it needs mmcv built with its compiled ops; install it with `make '
    'install-mmcv-full` (builds mmcv 2.1.0 from source, about 11 minutes on 2 '
    'cores) or `pip install mmcv==2.1.0 -f '
    'https://download.openmmlab.com/mmcv/dist/<cuda>/<torch>/index.html`')


def point_sample(input: torch.Tensor,
                 points: torch.Tensor,
                 align_corners: bool = False,
                 **kwargs) -> torch.Tensor:
    """Sample ``input`` at normalised ``points`` (mmcv.ops.point_sample).

    ``points`` are (N, P, 2) or (N, Hgrid, Wgrid, 2) in [0, 1] x [0, 1]; they
    are mapped to grid_sample's [-1, 1] range as ``2 * p - 1``. Returns (N, C,
    P) or (N, C, Hgrid, Wgrid).
    """
    add_dim = False
    if points.dim() == 3:
        add_dim = True
        points = points.unsqueeze(2)
    output = F.grid_sample(
        input, points * 2.0 - 1.0, align_corners=align_corners, **kwargs)
    if add_dim:
        output = output.squeeze(3)
    return output


def _check(condition: bool, message: str) -> None:
    """mmcv's ``assert`` in its ops, with a message (and also under -O)."""
    if not condition:
        raise AssertionError(message)


def sigmoid_focal_loss(input: torch.Tensor,
                       target: torch.Tensor,
                       gamma: float = 2.0,
                       alpha: float = 0.25,
                       weight: Optional[torch.Tensor] = None,
                       reduction: str = 'mean') -> torch.Tensor:
    """Sigmoid focal loss with mmcv.ops semantics.

    For logits x (N, C), class targets t (N,) and p = sigmoid(x)::

        loss[n, c] = -alpha * (1 - p)^gamma * log(p)          if t[n] == c
                     -(1 - alpha) * p^gamma * log(1 - p)      otherwise

    logs are clamped at FLT_MIN as in mmcv's kernel; a target equal to C
    (background) makes every class negative. ``weight`` is per class (C,)
    and is indexed by the target (``loss[n, :] *= weight[t[n]]``; a
    background row uses weight[C - 1], where mmcv's kernel reads past the
    end of ``weight``). ``reduction``:
    'none' -> (N, C), 'sum', or 'mean' = sum / N (mmcv divides by N, not N*C).

    Raises:
        AssertionError: where mmcv's op asserts: ``target`` not int64,
            ``input`` not 2-D, ``target`` not 1-D or of another length,
            ``weight`` not 1-D of length C, or an unknown ``reduction``.
    """
    _check(target.dtype == torch.long,
           f'target must be int64 (torch.long), got {target.dtype}')
    _check(input.dim() == 2, f'input must be (N, C), got {tuple(input.shape)}')
    _check(target.dim() == 1,
           f'target must be (N,), got {tuple(target.shape)}')
    _check(
        input.size(0) == target.size(0),
        f'input has {input.size(0)} rows but target {target.size(0)}')
    if weight is not None:
        _check(
            weight.dim() == 1 and weight.size(0) == input.size(1),
            f'weight must be (C,) = ({input.size(1)},), '
            f'got {tuple(weight.shape)}')
    _check(
        reduction in ('none', 'mean', 'sum'),
        f'reduction must be none, mean or sum, got {reduction!r}')
    num_classes = input.size(1)
    flag_p = F.one_hot(target.clamp(max=num_classes), num_classes + 1)
    flag_p = flag_p[:, :num_classes].to(input.dtype)
    p = torch.sigmoid(input)
    tiny = torch.finfo(torch.float32).tiny
    term_p = (1 - p).pow(gamma) * torch.log(p.clamp(min=tiny))
    term_n = p.pow(gamma) * torch.log((1 - p).clamp(min=tiny))
    loss = -flag_p * alpha * term_p - (1 - flag_p) * (1 - alpha) * term_n
    if weight is not None:
        loss = loss * weight[target.clamp(max=weight.numel() - 1)].view(-1, 1)
    if reduction == 'mean':
        return loss.sum() / input.size(0)
    if reduction == 'sum':
        return loss.sum()
    return loss


def get_compiler_version() -> str:
    """Reported by mmcv's environment collection; there is no compiled code."""
    return 'mmcv without compiled ops (ideal_mm stand-in)'


def get_compiling_cuda_version() -> str:
    """Reported by mmcv's environment collection; there is no compiled code."""
    return 'not available (mmcv without compiled ops)'


_IMPORT_FROM = dis.opmap.get('IMPORT_FROM')


def _is_import_statement(frame: Optional[types.FrameType]) -> bool:
    """True when ``frame`` is executing ``from ... import NAME``.

    Undecidable cases count as an import: mmseg's guards need that answer.
    """
    if frame is None or _IMPORT_FROM is None:
        return True
    code, lasti = frame.f_code.co_code, frame.f_lasti
    if not 0 <= lasti < len(code):
        return True
    return code[lasti] == _IMPORT_FROM


class _OpsStandIn(types.ModuleType):
    """Module object whose unknown attributes raise a helpful error.

    ``from mmcv.ops import NAME`` gets ``ModuleNotFoundError`` (as on mmcv-lite
    without ideal_mm); ``hasattr``/``getattr`` and ``mmcv.ops.NAME`` get an
    ``AttributeError`` (as from any module). The two cannot be one exception:
    ImportError and AttributeError have incompatible instance layouts.
    """

    def __getattr__(self, name: str):
        if name.startswith('__') and name.endswith('__'):
            raise AttributeError(name)
        message = (f'mmcv.ops.{name} is not available: mmcv is installed '
                   f'without its compiled ops (e.g. mmcv-lite), and {name} '
                   f'{FULL_MMCV_HINT}.')
        if _is_import_statement(sys._getframe(1)):
            raise ModuleNotFoundError(message, name=f'mmcv.ops.{name}')
        error = AttributeError(message)
        error.name, error.obj = name, self  # as Python >= 3.10 sets them
        raise error


def build_module() -> types.ModuleType:
    """Return the stand-in ``mmcv.ops`` module."""
    module = _OpsStandIn('mmcv.ops', __doc__)
    module.point_sample = point_sample
    module.sigmoid_focal_loss = sigmoid_focal_loss
    module.get_compiler_version = get_compiler_version
    module.get_compiling_cuda_version = get_compiling_cuda_version
    module.IDEAL_MM_STAND_IN = True
    return module
