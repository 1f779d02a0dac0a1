"""Feature-cell geometry: where each backbone's embedding cells sit in the
view, measured independently with gradient centroids, and the correspondence
built on it pairs cells that see the same source point."""
import copy
import os.path as osp

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS, TRANSFORMS

import ideal_mm.models.selfsup.dense_pretrainer as pretrainer_module
from ideal_mm.datasets.transforms.two_view import dense_correspondence
from ideal_mm.errors import ConfigError
from ideal_mm.geometry import (CellGeometry, CellGeometryProbeError,
                               cell_centres, declared_cell_geometry,
                               probe_cell_geometry)

init_default_scope('mmseg')

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = {
    'unet': 'configs/ideal/unet_acdc_pretrain.py',
    'resnet50': 'configs/ideal/resnet50_acdc_pretrain.py',
    'mitb0': 'configs/ideal/mitb0_acdc_pretrain.py',
}
# The architecture's arithmetic (ideal_mm/geometry.py's module docstring):
# UNet 2x2 pools centre a 1/16 cell at 16 j + 7.5; ResNetV1c's and MiT's
# stride-2 convolutions padded k // 2 at s j.
EXPECTED = {
    'unet': {
        -1: (16, 7.5)
    },
    'resnet50': {
        -1: (8, 0.0)
    },
    'mitb0': {
        2: (16, 0.0),
        3: (32, 0.0)
    },
}


def build_model(name):
    cfg = Config.fromfile(osp.join(REPO, CONFIGS[name]))
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def models():
    return {}


def get_model(models, name):
    if name not in models:
        models[name] = build_model(name)
    return models[name]


# -- an independent gradient-centroid probe -----------------------------------
def centroid_probe(backbone, level, size, cells, samples=2, seed=0, floor=0.1):
    """(y, x) centroid of ``mean |d <v, f_ij> / d input|`` for each cell.

    Written apart from ideal_mm.geometry.probe_cell_geometry: the 2D map (not
    its row/column profiles), a floor relative to the peak only, no line
    fit. On a copy in eval mode (no batch coupling in BN, no drop-path) whose
    conv kernels are mirror-symmetrised about their centre tap (random
    kernels skew the map; the geometry is the kernels' centres, not their
    weights). Image b of the batch backpropagates from its own cell only;
    the part of the map under ``floor`` x its peak is dropped (MiT's global
    attention spreads a floor over the whole image).
    """
    net = copy.deepcopy(backbone)
    net.train(False)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                w = m.weight
                w.copy_((w + w.flip(-1)) / 2)
                w.copy_((w + w.flip(-2)) / 2)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(len(cells) * samples, 1, size, size, generator=gen)
    x.requires_grad_()
    feat = net(x)[level]
    v = torch.randn(x.shape[0], feat.shape[1], generator=gen)
    rows = torch.tensor([i for i, _ in cells]).repeat_interleave(samples)
    cols = torch.tensor([j for _, j in cells]).repeat_interleave(samples)
    picked = feat[torch.arange(x.shape[0]), :, rows, cols]  # (B, C)
    (picked * v).sum().backward()
    g = x.grad.abs().sum(1).double()
    g = g / g.sum((1, 2), keepdim=True)
    g = g.reshape(len(cells), samples, size, size).mean(1)
    g = (g - floor * g.amax((1, 2), keepdim=True)).clamp(min=0)
    ys, xs = torch.meshgrid(
        torch.arange(size, dtype=torch.float64),
        torch.arange(size, dtype=torch.float64),
        indexing='ij')
    mass = g.sum((1, 2))
    return torch.stack([(g * ys).sum((1, 2)) / mass, (g * xs).sum(
        (1, 2)) / mass], 1)


# Probe sizes put the probed cells symmetric about the image centre, so zero
# padding truncates their receptive fields alike on both sides and the pulls
# towards the centre cancel in the mean over the cells: 128 for the UNet's
# (j + 0.5) * 16 - 0.5 cells, 1 + a multiple of the stride for s * j cells
# (MiT's 1/32 level needs 257 px for its receptive field). Random inputs per
# cell and the floor: as few as keep the mean within about 0.2 px over seeds
# (measured for seeds 0-3); MiT needs the floor for its attention.
PROBES = [  # name, level, size, samples, floor
    ('unet', -1, 128, 8, 0.0),
    ('resnet50', -1, 65, 4, 0.0),
    ('mitb0', 2, 129, 8, 0.1),
    ('mitb0', 3, 257, 8, 0.1),
]


@pytest.mark.parametrize(
    'name,level,size,samples,floor',
    PROBES,
    ids=[f'{p[0]}-level{p[1]}' for p in PROBES])
def test_independent_probe_finds_the_cells_where_the_code_puts_them(
        models, name, level, size, samples, floor):
    model = get_model(models, name)
    levels = model.proj_head.in_index
    assert level in levels
    # what the code assumes: the pre-trainer's geometry for its embedding
    # grid (the finest in_index level), the table's for a fused coarser one
    finest = levels[0]
    geom = model.cell_geometry if level == finest else \
        declared_cell_geometry(model.backbone, level)
    assert geom == declared_cell_geometry(model.backbone, level)
    stride, offset = EXPECTED[name][level]
    assert geom.stride == (stride, stride) and geom.offset == (offset, offset)
    with torch.no_grad():
        feat = model.backbone(torch.zeros(1, 1, size, size))[level]
    hg, wg = feat.shape[-2:]
    c = wg // 2
    if wg % 2:  # the central cell and its diagonal neighbours
        cells = [(c - 1, c - 1), (c, c), (c + 1, c + 1)]
    else:  # the four cells around the centre
        cells = [(c - 1, c - 1), (c - 1, c), (c, c - 1), (c, c)]
    measured = centroid_probe(
        model.backbone, level, size, cells, samples, floor=floor)
    ys, xs = geom.centres((hg, wg))
    assumed = torch.tensor([[float(ys[i]), float(xs[j])] for i, j in cells])
    err = measured - assumed
    # several interior cells, per axis: the mean within 0.5 px, each one
    # within 2 px (a single random-weight map is noisier)
    assert err.mean(0).abs().max() <= 0.5, err
    assert err.abs().max() <= 2.0, err
    # the old centre-aligned assumption ((j + 0.5) * w / Wg - 0.5 for a view
    # divisible by the stride) is off by (stride - 1) / 2 - offset: 3.5 px
    # for ResNetV1c-50 at 1/8, 7.5 and 15.5 px for MiT-B0 at 1/16 and 1/32
    legacy = (stride - 1) / 2
    measured_offset = (measured - assumed).mean(0) + offset
    if name != 'unet':
        assert (measured_offset - legacy).abs().min() > 2.0


# -- the correspondence on coordinate-encoded views ---------------------------
def bilinear(img, x, y):
    """Sample a (C, h, w) tensor at pixel coordinates x, y (any shape)."""
    h, w = img.shape[-2:]
    grid = torch.stack([(2 * x + 1) / w - 1, (2 * y + 1) / h - 1], -1)
    out = F.grid_sample(
        img[None].double(),
        grid.reshape(1, 1, -1, 2).double(),
        mode='bilinear',
        padding_mode='zeros',
        align_corners=False)
    return out.reshape(img.shape[0], *x.shape)


AUGMENT = {
    'hflip':
    dict(
        flip_prob=0.5,
        flip_direction=('horizontal', ),
        rotate_prob=0.0,
        scale_range=None,
        translate=0.1),
    'vflip':
    dict(
        flip_prob=0.5,
        flip_direction=('vertical', ),
        rotate_prob=0.0,
        scale_range=None,
        translate=0.1),
    'rotate':
    dict(
        flip_prob=0.0,
        rotate_prob=1.0,
        rotate_range=(-90, 90),
        scale_range=None,
        translate=0.1),
    'scale':
    dict(
        flip_prob=0.0, rotate_prob=0.0, scale_range=(0.6, 1.6), translate=0.2),
    'all':
    dict(
        flip_prob=0.5,
        rotate_prob=1.0,
        rotate_range=45,
        scale_range=(0.7, 1.4),
        translate=0.2),
}
VIEW = 128
SRC = (150, 170)
GEOMETRIES = {  # the pre-training configs' grids at 1/16, 1/8 and 1/16
    'unet': CellGeometry((16, 16), (7.5, 7.5)),
    'resnet50': CellGeometry((8, 8), (0, 0)),
    'mitb0': CellGeometry((16, 16), (0, 0)),
}


def positives_error(geom, affine_q, affine_k, views, use_geometry=True):
    """Source (x, y) seen by each valid query cell minus that read from the
    key grid at ``corr`` (as DenseContrastiveLoss reads key embeddings), for
    cells whose interpolation stays inside the slice."""
    grid = tuple(VIEW // int(s) for s in geom.stride)
    kwargs = dict(stride=geom.stride, offset=geom.offset) if use_geometry \
        else {}
    corr, valid = dense_correspondence(
        torch.as_tensor(affine_q)[None],
        torch.as_tensor(affine_k)[None], torch.tensor([SRC]), (VIEW, VIEW),
        grid, **kwargs)
    # an "encoder" whose cell (i, j) holds its view's coordinate images at
    # the architectural cell centre (offset + stride * j, offset + stride * i)
    ys, xs = geom.centres(grid)
    gy, gx = torch.meshgrid(ys, xs, indexing='ij')
    q_cells = bilinear(views[0], gx, gy)  # (3, Hg, Wg): x, y, inside
    k_cells = bilinear(views[1], gx, gy)
    k_at = F.grid_sample(
        k_cells[None],
        corr.double(),
        mode='bilinear',
        padding_mode='border',
        align_corners=False)[0]
    inside = (q_cells[2] > 1 - 1e-6) & (k_at[2] > 1 - 1e-6)
    ok = valid[0] & inside
    return (q_cells[:2] - k_at[:2])[:, ok].T, int(ok.sum()), grid


@pytest.mark.parametrize('name', sorted(GEOMETRIES))
@pytest.mark.parametrize('kind', sorted(AUGMENT))
def test_positives_see_the_same_source_point(name, kind):
    geom = GEOMETRIES[name]
    t = TRANSFORMS.build(
        dict(
            type='DenseContrastiveTwoView',
            out_size=VIEW,
            view_pipeline=[],
            **AUGMENT[kind]))
    src_y, src_x = np.mgrid[0:SRC[0], 0:SRC[1]].astype(np.float32)
    channels = (src_x, src_y, np.ones(SRC, np.float32))
    checked, cells, legacy_worst = 0, 0, 0.0
    for seed in range(6):
        np.random.seed(seed)
        affines = [t.sample_affine(SRC) for _ in range(2)]
        views = [
            torch.from_numpy(np.stack([t.warp(c, a) for c in channels]))
            for a in affines
        ]
        err, n, grid = positives_error(geom, *affines, views)
        # positives: the query cell and the key point see one source point
        assert n == 0 or err.abs().max() <= 0.5, err.abs().max()
        checked += n
        cells += grid[0] * grid[1]
        old, n_old, _ = positives_error(
            geom, *affines, views, use_geometry=False)
        if n_old:
            legacy_worst = max(legacy_worst, float(old.abs().max()))
    assert checked >= 0.25 * cells
    # the centre-aligned default misplaces these cells: by (stride - 1) / 2
    # in the query view, which a flip or rotation between the views does not
    # cancel in the key view (a pure scaling nearly does)
    if name != 'unet' and kind != 'scale':
        assert legacy_worst > 2.0


def test_default_correspondence_is_the_centre_aligned_geometry():
    """Without stride/offset nothing changes; with the centre-aligned
    geometry spelt out the cells and positives agree."""
    t = TRANSFORMS.build(
        dict(
            type='DenseContrastiveTwoView',
            out_size=64,
            view_pipeline=[],
            **AUGMENT['all']))
    np.random.seed(1)
    aq, ak = (
        torch.as_tensor(t.sample_affine((70, 60)))[None] for _ in range(2))
    src = torch.tensor([[70, 60]])
    corr0, valid0 = dense_correspondence(aq, ak, src, (64, 64), (8, 8))
    geom = CellGeometry.centre_aligned((64, 64), (8, 8))
    assert geom.stride == (8, 8) and geom.offset == (3.5, 3.5)
    corr1, valid1 = dense_correspondence(
        aq, ak, src, (64, 64), (8, 8), stride=geom.stride, offset=geom.offset)
    torch.testing.assert_close(corr1, corr0)
    # the explicit geometry also drops key points beyond the outer key cell
    # centres (grid_sample would clamp them to the border cell)
    assert not (valid1 & ~valid0).any()
    k = (corr0 + 1) * 64 / 2 - 0.5  # key point in pixels
    beyond = ((k < 3.5) | (k > 59.5)).any(-1)
    assert torch.equal(valid1, valid0 & ~beyond)
    torch.testing.assert_close(
        cell_centres(8, 64),
        torch.arange(8, dtype=torch.float64) * 8 + 3.5)
    with pytest.raises(ValueError, match='both stride and offset'):
        dense_correspondence(aq, ak, src, (64, 64), (8, 8), stride=8)


# -- the pre-trainer takes its backbone's geometry ----------------------------
def test_pretrainer_geometry_per_config_and_passed_to_the_correspondence(
        models, monkeypatch):
    for name, (stride, offset) in (('unet', (16, 7.5)), ('resnet50', (8, 0.0)),
                                   ('mitb0', (16, 0.0))):
        geom = get_model(models, name).cell_geometry
        assert geom.stride == (stride, stride)
        assert geom.offset == (offset, offset) and geom.source == 'table'
    # a small ResNetV1c: loss() hands the geometry and the key grid over
    cfg = dict(
        type='DenseContrastivePretrainer',
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            in_channels=1,
            out_indices=(0, 1),
            base_channels=8,
            stem_channels=8),
        proj_head=dict(
            type='DenseConvProjHead',
            in_channels=16,
            in_index=1,
            channels=8,
            norm_cfg=None),
        loss=dict(type='DenseContrastiveLoss', num_samples=16))
    model = MODELS.build(cfg)
    assert model.cell_geometry == CellGeometry((8, 8), (0, 0), 'table')
    seen = {}
    real = pretrainer_module.dense_correspondence

    def spy(*args, **kwargs):
        seen.update(kwargs, grid=args[4])
        return real(*args, **kwargs)

    monkeypatch.setattr(pretrainer_module, 'dense_correspondence', spy)
    t = TRANSFORMS.build(
        dict(type='DenseContrastiveTwoView', out_size=32, view_pipeline=[]))
    pack = TRANSFORMS.build(dict(type='PackTwoViewInputs'))
    np.random.seed(0)
    items = [
        pack(t(dict(img=np.random.rand(40, 36).astype(np.float32))))
        for _ in range(2)
    ]
    data = model.data_preprocessor(
        dict(
            inputs=[i['inputs'] for i in items],
            data_samples=[i['data_samples'] for i in items]), True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_dense'])
    assert seen['stride'] == (8, 8) and seen['offset'] == (0, 0)
    assert tuple(seen['grid']) == (4, 4)
    assert tuple(seen['key_grid_shape']) == (4, 4)
    # 'centre-aligned' calls it as before the fix
    seen.clear()
    model = MODELS.build(dict(cfg, cell_geometry='centre-aligned'))
    assert torch.isfinite(model(**data, mode='loss')['loss_dense'])
    assert set(seen) == {'grid'}


def test_cell_geometry_override_and_errors():
    base = dict(
        type='DenseContrastivePretrainer',
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            in_channels=1,
            out_indices=(0, 1),
            base_channels=8,
            stem_channels=8),
        proj_head=dict(
            type='DenseConvProjHead',
            in_channels=16,
            in_index=1,
            channels=8,
            norm_cfg=None))
    model = MODELS.build(
        dict(base, cell_geometry=dict(stride=8, offset=(1, 2))))
    assert model.cell_geometry == CellGeometry((8, 8), (1, 2), 'config')
    # the pre-fix behaviour, to reproduce earlier runs
    assert MODELS.build(dict(
        base, cell_geometry='centre-aligned')).cell_geometry is None
    for bad in ('nearest', dict(stride=8), dict(stride=0, offset=0),
                dict(stride='a', offset=0)):
        with pytest.raises(ConfigError, match='model.cell_geometry'):
            MODELS.build(dict(base, cell_geometry=bad))


# -- the probe: a fallback for backbones the table does not know --------------
@MODELS.register_module(force=True)
class _StridedConvNet(nn.Module):
    """Three 3x3 stride-2 convolutions padded 1: cells at 8 j (unknown to
    the table)."""

    def __init__(self, in_channels=1, pool=False):
        super().__init__()
        layers = []
        for i in range(3):
            c_in = in_channels if i == 0 else 8
            if pool:  # 2x2 pooling instead: cells at 8 j + 3.5
                layers += [
                    nn.Conv2d(c_in, 8, 3, padding=1),
                    nn.ReLU(),
                    nn.AvgPool2d(2)
                ]
            else:
                layers += [nn.Conv2d(c_in, 8, 3, 2, 1), nn.ReLU()]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return (self.body(x), )


@MODELS.register_module(force=True)
class _GlobalNet(nn.Module):
    """Every cell sees the whole image equally: no local geometry."""

    def __init__(self, in_channels=1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 4, 3, 2, 1)

    def forward(self, x):
        f = self.conv(x)
        return (f.mean((2, 3), keepdim=True).expand_as(f).contiguous(), )


@pytest.mark.parametrize('pool,offset', [(False, 0.0), (True, 3.5)])
def test_unknown_backbone_is_probed(pool, offset):
    cfg = dict(
        type='DenseContrastivePretrainer',
        backbone=dict(type='_StridedConvNet', pool=pool),
        proj_head=dict(
            type='DenseConvProjHead', in_channels=8, channels=4,
            norm_cfg=None))
    model = MODELS.build(cfg)
    geom = model.cell_geometry
    assert geom.source == 'probe' and geom.stride == (8, 8)
    assert geom.offset_error(CellGeometry(8, offset)) <= 0.5, geom
    with pytest.raises(ConfigError, match="model.cell_geometry='table'"):
        MODELS.build(dict(cfg, cell_geometry='table'))
    # an explicit override needs no probe
    model = MODELS.build(dict(cfg, cell_geometry=dict(stride=8, offset=0)))
    assert model.cell_geometry.source == 'config'


def test_probe_failure_is_a_config_error_naming_the_key():
    with pytest.raises(CellGeometryProbeError, match='stride'):
        probe_cell_geometry(_GlobalNet(), [-1])
    with pytest.raises(ConfigError, match='model.cell_geometry=dict'):
        MODELS.build(
            dict(
                type='DenseContrastivePretrainer',
                backbone=dict(type='_GlobalNet'),
                proj_head=dict(
                    type='DenseConvProjHead',
                    in_channels=4,
                    channels=4,
                    norm_cfg=None)))


@pytest.mark.parametrize(
    'backbone,levels',
    [
        (dict(
            type='UNetEncoder',
            in_channels=1,
            base_channels=4,
            num_stages=4,
            strides=(1, 1, 1, 1),
            enc_num_convs=(1, 1, 1, 1),
            dec_num_convs=(1, 1, 1),
            downsamples=(True, True, True),
            enc_dilations=(1, 1, 1, 1),
            dec_dilations=(1, 1, 1)), [2, 3]),
        (dict(
            type='ResNetV1c',
            depth=18,
            in_channels=1,
            out_indices=(0, 1),
            base_channels=16,
            stem_channels=16), [0, 1]),
        (dict(
            type='MixVisionTransformer',
            in_channels=1,
            embed_dims=16,
            num_stages=2,
            num_layers=[1, 1],
            num_heads=[1, 2],
            patch_sizes=[7, 3],
            strides=[4, 2],
            sr_ratios=[8, 4],
            out_indices=(0, 1)), [1]),
        # avg_down: the shortcut's s x s average pool centres strided stages at
        # s j + (s - 1) / 2 (14 px at 1/32 for ResNetV1d-18, issue 25)
        (dict(
            type='ResNetV1d',
            depth=18,
            in_channels=1,
            base_channels=8,
            stem_channels=8), [3]),
        (dict(
            type='ResNeSt',
            depth=50,
            in_channels=1,
            base_channels=4,
            stem_channels=8,
            num_stages=2,
            out_indices=(0, 1),
            strides=(1, 2),
            dilations=(1, 1)), [1]),
        (dict(
            type='VisionTransformer',
            img_size=64,
            patch_size=8,
            in_channels=1,
            embed_dims=16,
            num_layers=2,
            num_heads=1,
            out_indices=(0, 1)), [1]),
        (dict(
            type='SwinTransformer',
            in_channels=1,
            pretrain_img_size=64,
            embed_dims=8,
            depths=(1, 1, 1),
            num_heads=(1, 1, 1),
            strides=(4, 2, 2),
            window_size=4,
            out_indices=(0, 1, 2)), [1, 2]),
    ],
    ids=['unet', 'resnet18', 'mit', 'resnetv1d18', 'resnest', 'vit', 'swin'])
def test_library_probe_agrees_with_the_table(backbone, levels):
    torch.manual_seed(0)
    net = MODELS.build(backbone)
    probed = probe_cell_geometry(net, levels)
    for level in levels:
        table = declared_cell_geometry(net, level)
        assert probed[level].stride == table.stride
        assert probed[level].offset_error(table) <= 0.5, (probed, table)


def test_table_offsets_of_average_pool_shortcuts():
    """The arithmetic, independently: stem /4 centred at 0, then stages of
    stride 1, 2, 2, 2 whose shortcut average-pools 2x2 cells (+0.5 cell)."""
    net = MODELS.build(dict(type='ResNetV1d', depth=18, in_channels=1))
    offsets = [declared_cell_geometry(net, i).offset[0] for i in range(4)]
    assert offsets == [
        0.0, 0.5 * 4, 0.5 * 4 + 0.5 * 8, 0.5 * 4 + 0.5 * 8 + 0.5 * 16
    ]
    plain = MODELS.build(dict(type='ResNetV1c', depth=18, in_channels=1))
    assert declared_cell_geometry(plain, 3).offset == (0.0, 0.0)


def test_probe_is_deterministic_and_leaves_the_global_rng_alone():
    net = MODELS.build(
        dict(
            type='ResNetV1c',
            depth=18,
            in_channels=1,
            base_channels=8,
            stem_channels=8,
            out_indices=(1, )))
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = probe_cell_geometry(net, [0])
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(7)  # another global state: the same answer
    assert probe_cell_geometry(net, [0]) == first
    assert not net.is_init  # the copy was initialised, not the backbone


def test_probe_uses_a_fixed_input_size():
    """VisionTransformer only takes img_size inputs: probed at 64 px."""
    net = MODELS.build(
        dict(
            type='VisionTransformer',
            img_size=64,
            patch_size=8,
            in_channels=1,
            embed_dims=16,
            num_layers=1,
            num_heads=1,
            out_indices=(0, )))
    geom = probe_cell_geometry(net, [0])[0]
    assert geom.stride == (8.0, 8.0)
    assert geom.offset_error(CellGeometry(8, 3.5)) <= 0.5, geom


class _TrainTupleNet(nn.Module):
    """Two levels in training, only the last one in eval (as PIDNet)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 4, 3, 2, 1)
        self.b = nn.Conv2d(4, 4, 3, 2, 1)

    def forward(self, x):
        a = self.a(x)
        b = self.b(a)
        return (a, b) if self.training else b


class _SizeRefusingNet(_TrainTupleNet):

    def forward(self, x):
        if x.shape[-1] != 64:
            raise RuntimeError(f'size mismatch {x.shape[-1]} vs 64')
        return super().forward(x)


def test_probe_reads_training_outputs_and_every_failure_names_the_key():
    # in_index=1 exists in training only: probed there, not refused
    geom = probe_cell_geometry(_TrainTupleNet(), [1])[1]
    assert geom.stride == (4.0, 4.0)
    assert geom.offset_error(CellGeometry(4, 0)) <= 0.5, geom
    with pytest.raises(
            CellGeometryProbeError, match='RuntimeError: size mismatch'):
        probe_cell_geometry(_SizeRefusingNet(), [1])
    from ideal_mm.models.selfsup.embedding_geometry import \
        resolve_cell_geometry
    head = nn.Module()
    head.in_index = 1
    with pytest.raises(
            ConfigError,
            match=r'^model\.cell_geometry: the '
            r'gradient probe could not measure .*size mismatch'):
        resolve_cell_geometry(_SizeRefusingNet(), head, 'auto')
    head.in_index = 5
    with pytest.raises(
            ConfigError,
            match=r'^model\.cell_geometry: cannot '
            r'probe proj_head\.in_index=5'):
        resolve_cell_geometry(_TrainTupleNet(), head, 'probe')
