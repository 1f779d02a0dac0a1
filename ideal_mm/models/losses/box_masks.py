"""Box masks of the copy-paste comparators: BCP's and UniMatch's samplers.

Neither mmseg nor mmengine samples CutMix boxes, and the two published
samplers differ in ways that change the method (one fixed 2/3-side box shared
by the whole batch in BCP; one random box per slice, present half the time, in
UniMatch), so both are written here as they are published:

- BCP (DeepMed-Lab-ECNU/BCP, code/ACDC_BCP_train.py, ``generate_mask``): a box
  of ``int(2H/3) x int(2W/3)`` pixels whose top-left corner is uniform over
  ``[0, H - int(2H/3)) x [0, W - int(2W/3))``; one box for the whole batch.
- UniMatch (LiheYoung/UniMatch, more-scenarios/medical/dataset/transform.py,
  ``obtain_cutmix_box``): with probability ``p`` a box of area
  ``s * H * W`` (``s ~ U(0.02, 0.4)``) and aspect ``r ~ U(0.3, 1/0.3)``:
  width ``int(sqrt(s H W / r))``, height ``int(sqrt(s H W r))``, top-left
  corner uniform over the image, drawn again (aspect and corner) until the
  box fits; otherwise no box.

Both return a boolean mask that is True *inside* the box (BCP's own
``img_mask`` is the complement: 1 outside the box).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch

from ideal_mm.errors import ConfigError

Device = Union[str, torch.device, None]


def _uniform(generator: Optional[torch.Generator], low: float,
             high: float) -> float:
    """One float drawn uniformly from [low, high)."""
    u = torch.rand((), generator=generator).item()
    return low + (high - low) * u


def _randint(generator: Optional[torch.Generator], low: int, high: int) -> int:
    """One int drawn uniformly from [low, high)."""
    return int(torch.randint(low, high, (), generator=generator).item())


def bcp_box_mask(height: int,
                 width: int,
                 generator: Optional[torch.Generator] = None,
                 device: Device = None) -> torch.Tensor:
    """BCP's one box per batch: (H, W) bool, True inside the box.

    The box is ``int(2 * H / 3)`` by ``int(2 * W / 3)`` pixels, its top-left
    corner uniform over ``[0, H - box_h) x [0, W - box_w)`` (so the box never
    touches the bottom or right border, as in ``generate_mask``).

    Args:
        height: image height H (>= 2).
        width: image width W (>= 2).
        generator: torch random generator (None: the global one).
        device: device of the returned mask.
    """
    if int(height) < 2 or int(width) < 2:
        raise ValueError(
            f'bcp_box_mask: image of {height}x{width} pixels is too small '
            'for a 2/3-side box with a free border; use images of at least '
            '2x2 pixels')
    box_h, box_w = int(height * 2 / 3), int(width * 2 / 3)
    top = _randint(generator, 0, height - box_h)
    left = _randint(generator, 0, width - box_w)
    mask = torch.zeros(height, width, dtype=torch.bool, device=device)
    mask[top:top + box_h, left:left + box_w] = True
    return mask


def _check_unimatch_args(p: float, area_range: Sequence[float],
                         aspect_range: Sequence[float]) -> None:
    """Raise ConfigError for a box sampler setting that cannot work."""
    if not 0.0 <= float(p) <= 1.0:
        raise ConfigError(f'cutmix box p={p!r} must lie in [0, 1]')
    if len(area_range) != 2 or not (0.0 < area_range[0] <= area_range[1] <=
                                    1.0):
        raise ConfigError(
            f'cutmix box area_range={tuple(area_range)!r} must be '
            '(low, high) with 0 < low <= high <= 1 (a fraction of the image)')
    if len(aspect_range) != 2 or not (0.0 < aspect_range[0] <=
                                      aspect_range[1]):
        raise ConfigError(
            f'cutmix box aspect_range={tuple(aspect_range)!r} must be '
            '(low, high) with 0 < low <= high')
    if aspect_range[0] > 1.0 or aspect_range[1] < 1.0:
        # without aspect 1 in range a large area may never fit
        raise ConfigError(
            f'cutmix box aspect_range={tuple(aspect_range)!r} must contain '
            '1.0, or boxes of a large area may never fit the image')


def unimatch_cutmix_box(height: int,
                        width: int,
                        p: float = 0.5,
                        area_range: Sequence[float] = (0.02, 0.4),
                        aspect_range: Sequence[float] = (0.3, 1 / 0.3),
                        generator: Optional[torch.Generator] = None,
                        device: Device = None,
                        max_tries: int = 10000) -> torch.Tensor:
    """UniMatch's box for one slice: (H, W) bool, True inside the box.

    With probability ``1 - p`` the mask is empty. Otherwise the area is
    ``s * H * W`` with ``s ~ U(area_range)``; then, until the box fits,
    ``r ~ U(aspect_range)``, box width ``int(sqrt(area / r))``, height
    ``int(sqrt(area * r))``, top-left corner ``(y, x)`` uniform over the
    image. The official code samples square crops (H = W); for H != W the
    area is taken of the whole H x W image.

    Args:
        height: image height H.
        width: image width W.
        p: probability that the slice gets a box (UniMatch: 0.5).
        area_range: box area as a fraction of the image (0.02, 0.4).
        aspect_range: height / width ratio (0.3, 1 / 0.3).
        generator: torch random generator (None: the global one).
        device: device of the returned mask.
        max_tries: bound on the redraws (the official loop has none).
    """
    _check_unimatch_args(p, area_range, aspect_range)
    if int(height) < 1 or int(width) < 1:
        raise ValueError(f'unimatch_cutmix_box: empty image {height}x{width}')
    mask = torch.zeros(height, width, dtype=torch.bool, device=device)
    if torch.rand((), generator=generator).item() >= p:
        return mask
    area = _uniform(generator, *area_range) * height * width
    for _ in range(max_tries):
        ratio = _uniform(generator, *aspect_range)
        box_w = int(math.sqrt(area / ratio))
        box_h = int(math.sqrt(area * ratio))
        x = _randint(generator, 0, width)
        y = _randint(generator, 0, height)
        if x + box_w <= width and y + box_h <= height:
            mask[y:y + box_h, x:x + box_w] = True
            return mask
    raise RuntimeError(
        f'unimatch_cutmix_box: no box of area {area:.0f} px fitted a '
        f'{height}x{width} image in {max_tries} draws')


def unimatch_cutmix_boxes(num: int,
                          height: int,
                          width: int,
                          generator: Optional[torch.Generator] = None,
                          device: Device = None,
                          **kwargs) -> torch.Tensor:
    """``num`` independent UniMatch boxes stacked: (num, H, W) bool.

    UniMatch draws one box per slice in the data loader; ``kwargs`` are
    :func:`unimatch_cutmix_box`'s ``p``, ``area_range``, ``aspect_range``.
    """
    boxes = [
        unimatch_cutmix_box(
            height, width, generator=generator, device=device, **kwargs)
        for _ in range(int(num))
    ]
    if not boxes:
        return torch.zeros(0, height, width, dtype=torch.bool, device=device)
    return torch.stack(boxes)
