"""Where the cells of a backbone's feature grid sit in the input image.

Dense contrastive pre-training pairs each cell of the query embedding grid
with a point of the key view, so it needs the image position every cell
stands for. For convolutional and patch-embedding encoders that position is
linear in the cell index::

    x = offset_x + stride_x * j        y = offset_y + stride_y * i

(pixel centres at integer coordinates, as in the two-view transform), with a
stride and an offset fixed by the architecture, not by the weights:

* a 2x2 max pool (mmseg's UNet) centres output cell j between the two pixels
  it pools, ``2j + 0.5``; four of them give ``x = 16 j + 7.5`` at 1/16, the
  *centre-aligned* grid ``x = (j + 0.5) * w / W - 0.5`` that splits the view
  into equal cells;
* a stride-s convolution with kernel k padded k // 2 (ResNet stems and
  stages, MiT patch embeddings) centres cell j on its middle tap,
  ``s j + (k - 1) / 2 - k // 2``: ``x = s j`` for odd k, so a ResNetV1c-50
  cell at 1/8 is centred 3.5 px left of the centre-aligned guess and a MiT-B0
  cell at 1/32 15.5 px.

This module holds that geometry (:class:`CellGeometry`, :func:`cell_centres`),
a table of it for the supported mmseg backbones
(:func:`declared_cell_geometry`) and a gradient-centroid probe that measures
it for any backbone (:func:`probe_cell_geometry`). It imports nothing from
ideal_mm but the errors, so the datasets (the correspondence) and the models
(the pre-trainer) can both use it. The table and the probe are two readings
of one geometry and are tested against each other.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from ideal_mm.errors import ConfigError

Pair = Tuple[float, float]
Number = Union[int, float]


def _number_pair(value: Union[Number, Sequence[Number]], key: str) -> Pair:
    """A number or a (y, x) pair of numbers as a (y, x) tuple of floats."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        pair = (float(value), float(value))
    else:
        try:
            pair = tuple(float(v) for v in value)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            pair = ()
        if len(pair) != 2:
            raise ConfigError(
                f'{key} must be a number or a (y, x) pair of numbers, got '
                f'{value!r}')
    if not all(math.isfinite(v) for v in pair):
        raise ConfigError(f'{key} must be finite, got {value!r}')
    return pair  # type: ignore[return-value]


def cell_centres(num_cells: int,
                 view_size: int,
                 stride: Optional[float] = None,
                 offset: Optional[float] = None,
                 dtype: torch.dtype = torch.float64,
                 device: Optional[torch.device] = None) -> torch.Tensor:
    """Pixel coordinate of the centre of each of ``num_cells`` cells on one
    axis of a view ``view_size`` pixels long.

    With ``stride`` and ``offset``: ``offset + stride * j``. Without (both
    None): the centre-aligned grid ``(j + 0.5) * view_size / num_cells - 0.5``
    (equal cells covering the view; exact for 2x2-pooling encoders).
    """
    j = torch.arange(int(num_cells), dtype=dtype, device=device)
    if stride is None and offset is None:
        return (j + 0.5) * (int(view_size) / int(num_cells)) - 0.5
    if stride is None or offset is None:
        raise ValueError('give both stride and offset, or neither')
    return j * float(stride) + float(offset)


@dataclass(frozen=True)
class CellGeometry:
    """Cell (i, j) of a feature grid is centred at image pixel
    ``(y, x) = (offset[0] + stride[0] * i, offset[1] + stride[1] * j)``.

    Attributes:
        stride: (y, x) pixels between neighbouring cells (a number is used
            for both axes).
        offset: (y, x) pixel coordinate of the centre of cell (0, 0) (a
            number is used for both axes).
        source: where the numbers come from ('config', 'table', 'probe',
            'centre-aligned'), for logs and error messages.
    """

    stride: Pair
    offset: Pair
    source: str = 'config'

    def __post_init__(self) -> None:
        stride = _number_pair(self.stride, 'cell geometry stride')
        offset = _number_pair(self.offset, 'cell geometry offset')
        if min(stride) <= 0:
            raise ConfigError(
                f'cell geometry stride must be positive, got {self.stride!r}')
        object.__setattr__(self, 'stride', stride)
        object.__setattr__(self, 'offset', offset)

    @classmethod
    def from_config(cls, value: Mapping, key: str) -> 'CellGeometry':
        """Build from ``dict(stride=..., offset=...)`` (numbers or (y, x)
        pairs); errors name ``key``."""
        if not isinstance(value, Mapping) or set(value) != {
                'stride', 'offset'
        }:
            raise ConfigError(
                f'{key} must be dict(stride=..., offset=...) (numbers or '
                f'(y, x) pairs: cell (i, j) is centred at pixel (offset + '
                f'stride * i, offset + stride * j)), got {value!r}')
        stride = _number_pair(value['stride'], f'{key}.stride')
        offset = _number_pair(value['offset'], f'{key}.offset')
        if min(stride) <= 0:
            raise ConfigError(
                f'{key}.stride must be positive, got {value["stride"]!r}')
        return cls(stride, offset, source='config')

    @classmethod
    def centre_aligned(cls, view_shape: Sequence[int],
                       grid_shape: Sequence[int]) -> 'CellGeometry':
        """The grid that splits an (h, w) view into equal cells:
        ``stride = h / Hg``, ``offset = stride / 2 - 0.5`` (per axis)."""
        stride = tuple(int(v) / int(g) for v, g in zip(view_shape, grid_shape))
        return cls(
            stride,
            tuple(s / 2 - 0.5 for s in stride),  # type: ignore
            source='centre-aligned')

    def centres(
        self,
        grid_shape: Sequence[int],
        dtype: torch.dtype = torch.float64,
        device: Optional[torch.device] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Row centres (Hg,) and column centres (Wg,) in pixels."""
        hg, wg = (int(v) for v in grid_shape)
        return (cell_centres(hg, 0, self.stride[0], self.offset[0], dtype,
                             device),
                cell_centres(wg, 0, self.stride[1], self.offset[1], dtype,
                             device))

    def then(self, stride: Number, offset: Number) -> 'CellGeometry':
        """The geometry after one more layer whose output cell j is centred
        at ``offset + stride * j`` in units of *this* grid's cells."""
        return CellGeometry(
            tuple(s * stride for s in self.stride),  # type: ignore[arg-type]
            tuple(o + s * offset
                  for o, s in zip(self.offset, self.stride)),  # type: ignore
            source=self.source)

    def resampled(self,
                  factor: Pair,
                  align_corners: bool = False) -> 'CellGeometry':
        """The geometry of this grid after bilinear resizing by ``factor``
        (y, x) output cells per input cell (e.g. 2 to double the size), as
        :func:`torch.nn.functional.interpolate` does it. With
        ``align_corners=True`` it is the large-grid limit."""
        stride, offset = [], []
        for s, o, f in zip(self.stride, self.offset, factor):
            stride.append(s / f)
            # output cell j samples input position (j + 0.5) / f - 0.5
            offset.append(o if align_corners else o + s * (0.5 / f - 0.5))
        return CellGeometry(
            tuple(stride),
            tuple(offset),  # type: ignore
            source=self.source)

    def offset_error(self, other: 'CellGeometry') -> float:
        """Largest distance in pixels between the cell centres of two
        geometries with the same stride (inf when the strides differ)."""
        if any(abs(a - b) > 1e-6 for a, b in zip(self.stride, other.stride)):
            return math.inf
        return max(abs(a - b) for a, b in zip(self.offset, other.offset))

    def __str__(self) -> str:

        def fmt(pair: Pair) -> str:
            a, b = (f'{v:g}' for v in pair)
            return a if a == b else f'({a}, {b})'

        return (f'stride {fmt(self.stride)}, offset {fmt(self.offset)} '
                f'({self.source})')


# -- declared geometry of supported mmseg backbones ---------------------------
def _levels_to_stages(out_indices: Sequence[int]) -> List[int]:
    """mmseg backbones append stage i's output when i is in out_indices."""
    return sorted(int(i) for i in out_indices)


def _stage_of(level: int, stages: List[int], name: str) -> int:
    if not -len(stages) <= level < len(stages):
        raise ConfigError(
            f'proj_head.in_index={level} does not fit {name}, which returns '
            f'{len(stages)} level(s); use indices in [-{len(stages)}, '
            f'{len(stages) - 1}]')
    return stages[level]


def _unet_encoder(backbone: nn.Module, level: int) -> CellGeometry:
    # mmseg UNet: stage 0 = convs (first one strided by strides[0]); stage
    # i > 0 = 2x2 max pool when strides[i] == 1 and downsamples[i - 1], then
    # convs whose first one is strided by strides[i] (3x3, padded).
    num_stages = int(backbone.num_stages)
    stage = _stage_of(level, list(range(num_stages)), 'UNetEncoder')
    strides, downsamples = backbone.strides, backbone.downsamples
    geom = CellGeometry((1, 1), (0, 0), source='table')
    for i in range(stage + 1):
        if i > 0 and strides[i] == 1 and downsamples[i - 1]:
            geom = geom.then(2, 0.5)
        geom = geom.then(strides[i], 0)
    return geom


def _resnet(backbone: nn.Module, level: int) -> CellGeometry:
    # stem: 7x7/2 pad 3 (or 3x3/2 pad 1 + two 3x3 with deep_stem), then
    # 3x3/2 max pool pad 1: centre 4 j. Stage i: its stride on a centred
    # 3x3 (pytorch style) or 1x1 (caffe style) conv: centre s j, and so is
    # the strided 1x1 shortcut (ResNet, ResNetV1c). With avg_down
    # (ResNetV1d, ResNeSt) the shortcut of a strided stage average-pools
    # s x s cells first, centred at s j + (s - 1) / 2. mmseg initialises the
    # last norm of every residual branch to zero (zero_init_residual, on by
    # default), so at the start of training the shortcuts are the only path
    # and their centre is the cells' centre (the probe measures it: 14 px at
    # 1/32 for ResNetV1d-18, 2 px at 1/8 for ResNeSt; issue 25). The table
    # follows the path the signal takes when training starts.
    stage = _stage_of(level, _levels_to_stages(backbone.out_indices),
                      type(backbone).__name__)
    avg_down = bool(getattr(backbone, 'avg_down', False))
    geom = CellGeometry((1, 1), (0, 0), source='table').then(2, 0).then(2, 0)
    for i in range(stage + 1):
        s = int(backbone.strides[i])
        geom = geom.then(s, (s - 1) / 2 if avg_down and s > 1 else 0)
    return geom


def _mix_vision_transformer(backbone: nn.Module, level: int) -> CellGeometry:
    # stage i starts with a patch embedding: conv kernel k, stride s, padding
    # k // 2, so output cell j is centred at s j + (k - 1) / 2 - k // 2.
    stage = _stage_of(level, _levels_to_stages(backbone.out_indices),
                      'MixVisionTransformer')
    geom = CellGeometry((1, 1), (0, 0), source='table')
    for i in range(stage + 1):
        k = int(backbone.patch_sizes[i])
        geom = geom.then(backbone.strides[i], (k - 1) / 2 - k // 2)
    return geom


def _first(value) -> int:
    return int(value[0] if isinstance(value, (tuple, list)) else value)


def _patch_cell(geom: CellGeometry, kernel, stride, padding) -> CellGeometry:
    # a patch embedding / merging of kernel k, stride s, padding p centres
    # output cell j on s j + (k - 1) / 2 - p
    k, s, p = _first(kernel), _first(stride), _first(padding)
    return geom.then(s, (k - 1) / 2 - p)


def _vision_transformer(backbone: nn.Module, level: int) -> CellGeometry:
    # ViT, BEiT, MAE: one patch embedding (conv k = s = patch size, no
    # padding: 'corner' padding adds pixels after the image); every layer
    # keeps its grid, so every level has the same geometry.
    _stage_of(level, list(backbone.out_indices), type(backbone).__name__)
    conv = backbone.patch_embed.projection
    return _patch_cell(
        CellGeometry((1, 1), (0, 0), source='table'), conv.kernel_size,
        conv.stride, conv.padding)


def _swin(backbone: nn.Module, level: int) -> CellGeometry:
    # patch embedding (k = patch size, s = strides[0]); stage i's output is
    # taken before its PatchMerging (an unfold of k = 2, s = strides[i+1]),
    # so level i has gone through the mergings of stages 0 .. i - 1.
    stage = _stage_of(level, _levels_to_stages(backbone.out_indices),
                      'SwinTransformer')
    conv = backbone.patch_embed.projection
    geom = _patch_cell(
        CellGeometry((1, 1), (0, 0), source='table'), conv.kernel_size,
        conv.stride, conv.padding)
    for i in range(stage):
        unfold = backbone.stages[i].downsample.sampler
        geom = _patch_cell(geom, unfold.kernel_size, unfold.stride,
                           unfold.padding)
    return geom


#: backbone class name (matched along the class's MRO, so subclasses such as
#: ResNetV1c / ResNetV1d inherit ResNet's entry) -> geometry of one level
DECLARED_CELL_GEOMETRY = {
    'UNetEncoder': _unet_encoder,
    'ResNet': _resnet,
    'MixVisionTransformer': _mix_vision_transformer,
    'VisionTransformer': _vision_transformer,
    'BEiT': _vision_transformer,  # and MAE, its subclass
    'SwinTransformer': _swin,
}


def declared_cell_geometry(backbone: nn.Module,
                           level: int) -> Optional[CellGeometry]:
    """The table's geometry of output ``level`` of ``backbone`` (negative
    levels count from the deepest), or None when no class in the backbone's
    MRO is in :data:`DECLARED_CELL_GEOMETRY`."""
    for cls in type(backbone).__mro__:
        rule = DECLARED_CELL_GEOMETRY.get(cls.__name__)
        if rule is not None:
            return rule(backbone, int(level))
    return None


# -- gradient-centroid probe --------------------------------------------------
class CellGeometryProbeError(RuntimeError):
    """The probe could not measure a backbone's cell geometry reliably."""


def _as_levels(
    outputs: Union[torch.Tensor,
                   Sequence[torch.Tensor]]) -> List[torch.Tensor]:
    return [outputs] if isinstance(outputs, torch.Tensor) else list(outputs)


def _first_conv_in_channels(module: nn.Module) -> int:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            return int(m.in_channels)
    raise CellGeometryProbeError(
        'the backbone has no Conv2d to read its input channels from')


@torch.no_grad()
def _symmetrise_kernels(module: nn.Module) -> None:
    """Mirror-symmetrise every conv kernel about its centre tap in place, so
    that the gradient maps the probe reads are symmetric about the
    architectural centre of a cell rather than skewed by random weights."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            w = m.weight
            w.copy_((w + w.flip(-1)) / 2)
            w.copy_((w + w.flip(-2)) / 2)


def _profile_centroid(profile: torch.Tensor,
                      edge: int,
                      level: float = 0.25) -> torch.Tensor:
    """Centroid of each row of ``profile`` (K, P) above a threshold: the
    larger of the mean of its first and last ``edge`` values (the image
    border) plus ``level`` x (peak - that). Cutting at a level above both
    borders keeps a symmetric bump symmetric where the image border has
    truncated its tails, and drops the flat floor that global attention
    spreads over the whole image."""
    floor = torch.maximum(profile[:, :edge].mean(1), profile[:,
                                                             -edge:].mean(1))
    peak = profile.max(1).values
    above = (profile - (floor + level * (peak - floor))[:, None]).clamp(min=0)
    pos = torch.arange(
        profile.shape[1], dtype=profile.dtype, device=profile.device)
    return (above * pos).sum(1) / above.sum(1)


def _fit_axis(cells: Sequence[int], centroids: torch.Tensor, stride: float,
              size: int, what: str) -> float:
    """Offset of ``x = offset + stride * j`` from cell centroids, undoing the
    pull of every centroid towards the image centre m: a centroid measured at
    ``m + (1 - g) (x_j - m)`` lies on a line of slope ``(1 - g) stride``."""
    j = torch.tensor([float(c) for c in cells], dtype=torch.float64)
    c = centroids.to(torch.float64).cpu()
    if not bool(torch.isfinite(c).all()):
        raise CellGeometryProbeError(f'{what}: no gradient reached the input')
    jm, cm = j.mean(), c.mean()
    slope = float(((j - jm) * (c - cm)).sum() / ((j - jm)**2).sum())
    ratio = slope / stride
    if not 0.75 <= ratio <= 1.25:
        raise CellGeometryProbeError(
            f'{what}: cell centroids move {slope:.2f} px per cell, not about '
            f'one stride ({stride:g} px); the receptive fields are too wide '
            f'for a {size} px probe or not local')
    intercept = float(cm) - slope * float(jm)
    middle = (size - 1) / 2
    return middle + (intercept - middle) / ratio


def _snap(value: float, tol: float = 0.2) -> float:
    """Round to the half-pixel grid that kernel/pool arithmetic lands on,
    when the measurement is that close to it."""
    snapped = round(value * 2) / 2
    return snapped if abs(value - snapped) <= tol else value


def _fixed_input_size(backbone: nn.Module) -> Optional[int]:
    """The square input size a backbone is built for (``img_size`` of
    mmseg's VisionTransformer, BEiT, MAE), or None when it takes any."""
    value = getattr(backbone, 'img_size', None)
    if value is None:
        return None
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or pair[0] != pair[1]:
        raise CellGeometryProbeError(
            f'the backbone is built for {value!r} inputs; the probe needs a '
            f'square input')
    return int(pair[0])


def _initialised_copy(backbone: nn.Module, seed: int) -> nn.Module:
    """A deep copy of ``backbone`` with its ``init_weights()`` applied (when
    it has one and has not run it): the weights the model trains from."""
    model = copy.deepcopy(backbone)
    if hasattr(model, 'init_weights') and not getattr(model, 'is_init', True):
        torch.manual_seed(int(seed))
        try:
            model.init_weights()
        except Exception as err:  # any backbone's own loader
            raise CellGeometryProbeError(
                f'init_weights() of the copy failed: '
                f'{type(err).__name__}: {err}') from err
    return model


def probe_cell_geometry(backbone: nn.Module,
                        levels: Sequence[int],
                        in_channels: Optional[int] = None,
                        size: int = 128,
                        min_cells: int = 12,
                        num_cells: int = 4,
                        num_samples: int = 4,
                        seed: int = 0) -> Dict[int, CellGeometry]:
    """Measure the cell geometry of output ``levels`` of ``backbone``.

    Works on a deep copy (the backbone is left untouched) with the weights
    the model trains from: the copy's ``init_weights()`` is applied when the
    backbone has not run it (mmseg backbones such as HRNet and ResNet's
    zero-initialised residual branches change their geometry there). The
    copy runs in training mode, as the head reads it during pre-training:
    backbones that return a tuple of levels in training and one tensor in
    eval (PIDNet, DDRNet) are probed on the tuple. Every conv kernel is
    mirror-symmetrised about its centre tap: symmetric kernels make the
    gradient maps symmetric about the cell centre, so the answer depends on
    the architecture, not on one random draw of weights.
    For ``num_cells`` cells on the diagonal through the middle of each
    level's grid and ``num_samples`` random ``size`` x ``size`` inputs each,
    it backpropagates a random projection of the cell's feature vector and
    takes ``|d out / d input|``; the column (row) sums averaged over the
    samples give an x (y) profile per cell, whose centroid above a
    quarter-height threshold (:func:`_profile_centroid`) is the cell's
    measured centre. The stride is ``size / grid size``; the offset comes
    from a line through the centroids, corrected for the pull towards the
    image centre that zero padding causes (:func:`_fit_axis`), and is
    rounded to the half-pixel grid when within 0.2 px of it.

    Deterministic: the inputs and projections come from a
    ``torch.Generator`` seeded with ``seed``; the copy's initialisation,
    dropout and drop-path draw from the global generator inside
    :func:`torch.random.fork_rng` seeded with ``seed``, so the caller's
    random state is left as it was.

    On random weights with 128 px inputs this lands within about 0.5 px of
    the arithmetic for mmseg's UNet encoder, ResNetV1c and MiT-B0.

    Args:
        backbone: the encoder (any ``nn.Module`` returning a tensor or a
            sequence of per-level tensors).
        levels: output indices to measure (negative counts from the end).
        in_channels: input channels (default: those of the first Conv2d).
        size: square probe input size, a multiple of the total stride; it
            grows (to a multiple of the coarsest stride) until every level's
            grid has ``min_cells`` cells per axis. A backbone built for one
            input size (``img_size``) is probed at that size.
        min_cells: see ``size``.
        num_cells: cells per level, on the diagonal through the middle.
        num_samples: random inputs per cell (the draws averaged).
        seed: seed of the random inputs, projections and initialisation.

    Returns:
        ``{level: CellGeometry}`` with ``source='probe'``, keyed as given.

    Raises:
        CellGeometryProbeError: a level's grid has fewer than 3 cells per
            axis, no gradient reaches the input, the centroids do not move
            by about one stride per cell, or the backbone fails on the probe
            input (the original exception is chained).
    """
    param = next(backbone.parameters(), None)
    devices = [param.device] if param is not None and \
        param.device.type == 'cuda' else []
    with torch.random.fork_rng(devices=devices):
        try:
            return _probe(backbone, levels, in_channels, size, min_cells,
                          num_cells, num_samples, seed)
        except (CellGeometryProbeError, ConfigError):
            raise
        except Exception as err:  # the backbone refused the probe input
            raise CellGeometryProbeError(
                f'the backbone failed on the probe input: '
                f'{type(err).__name__}: {err}') from err


def _probe(backbone: nn.Module, levels: Sequence[int],
           in_channels: Optional[int], size: int, min_cells: int,
           num_cells: int, num_samples: int,
           seed: int) -> Dict[int, CellGeometry]:
    """:func:`probe_cell_geometry` inside its forked random state."""
    model = _initialised_copy(backbone, seed)
    model.train(True)  # not .train(): mmseg's UNet.train() returns None
    _symmetrise_kernels(model)
    torch.manual_seed(int(seed))  # dropout / drop-path of the copy
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device('cpu')
    dtype = param.dtype if param is not None else torch.float32
    if in_channels is None:
        in_channels = _first_conv_in_channels(model)
    gen = torch.Generator().manual_seed(int(seed))
    fixed = _fixed_input_size(model)
    if fixed is not None:
        size = fixed

    def level_shapes(side: int) -> List[torch.Size]:
        with torch.no_grad():  # batch 2: batch norm in training mode
            return [
                f.shape for f in _as_levels(
                    model(
                        torch.zeros(
                            2,
                            in_channels,
                            side,
                            side,
                            device=device,
                            dtype=dtype)))
            ]

    shapes = level_shapes(size)
    try:
        coarsest = max(size / min(shapes[level][-2:]) for level in levels)
    except IndexError:
        raise ConfigError(
            f'levels {list(levels)} do not fit a backbone that returns '
            f'{len(shapes)} level(s) in training mode') from None
    if fixed is None and size < min_cells * coarsest:
        step = int(round(coarsest))  # grow until every grid has min_cells
        size = int(math.ceil(min_cells * coarsest / step)) * step
        shapes = level_shapes(size)
    plans = []
    for level in levels:
        d, hg, wg = shapes[level][1:]
        if min(hg, wg) < 3:
            raise CellGeometryProbeError(
                f'level {level}: a {size} px probe gives a {hg}x{wg} grid; '
                f'at least 3x3 is needed')
        k = min(num_cells, hg, wg)
        first = (min(hg, wg) - k) // 2
        cells = list(range(first, first + k))
        plans.append((level, d, hg, wg, cells))
    cells_per_level = max(len(p[4]) for p in plans)
    batch = cells_per_level * num_samples
    x = torch.randn(
        batch, in_channels, size, size, generator=gen).to(
            device=device, dtype=dtype).requires_grad_()
    with torch.enable_grad():
        outs = _as_levels(model(x))
        result: Dict[int, CellGeometry] = {}
        for n, (level, d, hg, wg, cells) in enumerate(plans):
            proj = torch.randn(batch, d, generator=gen).to(device, dtype)
            target = x.new_zeros(())
            for b in range(len(cells) * num_samples):
                c = cells[b // num_samples]
                target = target + (outs[level][b, :, c, c] * proj[b]).sum()
            grad, = torch.autograd.grad(
                target, x, retain_graph=n < len(plans) - 1)
            g = grad[:len(cells) * num_samples].abs().sum(1).to(
                torch.float64)  # (B, P, P)
            stride = (size / hg, size / wg)
            geom = []
            for axis, dim in ((0, 2), (1, 1)):  # y: row sums, x: col sums
                prof = g.sum(dim)
                prof = prof / prof.sum(1, keepdim=True).clamp(min=1e-300)
                prof = prof.reshape(len(cells), num_samples, size).mean(1)
                edge = max(1, int(round(stride[axis])))
                centroids = _profile_centroid(prof, edge)
                geom.append(
                    _fit_axis(cells, centroids, stride[axis], size,
                              f'level {level} {"yx"[axis]}'))
            result[level] = CellGeometry(
                stride,
                tuple(_snap(o) for o in geom),  # type: ignore
                source='probe')
    return result
