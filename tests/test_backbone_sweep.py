"""Every backbone mmseg registers, through IDEAL end to end (issue 25).

For each backbone exported by ``mmseg.models.backbones`` (so a backbone a
new mmseg adds is tried automatically; it then needs an entry in TINY):
stage-1 step of DenseContrastivePretrainer (cell geometry from the table or
the probe), encoder export, stage-2 load with every tensor checked, one
BiConsistencySemiSupModel step, one prediction -- all on 1-channel 64x64
inputs, batch 2 + 2, with tiny widths. Backbones that cannot run here are
in UNAVAILABLE with their reason, and a test checks that it still holds.
docs/backbones.md is the table of what this shows.
"""
import importlib.util

import mmseg.models.backbones as mmseg_backbones
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from semi_helpers import plain_preprocessor

import ideal_mm  # noqa: F401  (import before mmseg)
from ideal_mm.engine.encoder_loading import init_weights_verified
from ideal_mm.engine.export_encoder import export_encoder
from ideal_mm.errors import ConfigError

init_default_scope('mmseg')
BN = dict(type='BN')
SIZE = 64

STDC = dict(
    stdc_type='STDCNet1',
    in_channels=1,
    channels=(8, 16, 32, 64, 128),
    bottleneck_type='cat',
    num_convs=4,
    norm_cfg=BN,
    act_cfg=dict(type='ReLU'),
    with_final_conv=False)
HRNET_EXTRA = dict(
    stage1=dict(
        num_modules=1,
        num_branches=1,
        block='BOTTLENECK',
        num_blocks=(1, ),
        num_channels=(8, )),
    stage2=dict(
        num_modules=1,
        num_branches=2,
        block='BASIC',
        num_blocks=(1, 1),
        num_channels=(8, 16)),
    stage3=dict(
        num_modules=1,
        num_branches=3,
        block='BASIC',
        num_blocks=(1, 1, 1),
        num_channels=(8, 16, 32)),
    stage4=dict(
        num_modules=1,
        num_branches=4,
        block='BASIC',
        num_blocks=(1, 1, 1, 1),
        num_channels=(8, 16, 32, 64)))
VIT = dict(
    img_size=SIZE,
    patch_size=16,
    in_channels=1,
    embed_dims=32,
    num_layers=2,
    num_heads=2,
    out_indices=(1, ))

#: tiny constructor arguments of each backbone (1 input channel where the
#: backbone takes ``in_channels``; the others go through
#: RepeatInputChannels, PIDNet / DDRNet through MainOutput: WRAP)
TINY = {
    'BEiT':
    VIT,
    'MAE':
    VIT,
    'VisionTransformer':
    VIT,
    'BiSeNetV1':
    dict(
        in_channels=1,
        backbone_cfg=dict(
            type='ResNet',
            in_channels=1,
            depth=18,
            base_channels=8,
            stem_channels=8),
        context_channels=(16, 32, 64),
        spatial_channels=(8, 8, 8, 16),
        out_channels=32),
    'BiSeNetV2':
    dict(
        in_channels=1,
        detail_channels=(8, 16, 32),
        semantic_channels=(4, 8, 16, 32),
        bga_channels=32,
        out_indices=(0, 1, 2, 3, 4)),
    'CGNet':
    dict(in_channels=1, num_channels=(8, 16, 32), num_blocks=(1, 1)),
    'DDRNet':
    dict(in_channels=1, channels=8, ppm_channels=16),
    'ERFNet':
    dict(
        in_channels=1,
        enc_downsample_channels=(8, 16, 32),
        enc_stage_non_bottlenecks=(1, 1),
        enc_non_bottleneck_dilations=(2, ),
        enc_non_bottleneck_channels=(16, 32),
        dec_upsample_channels=(16, 8),
        dec_stages_non_bottleneck=(1, 1),
        dec_non_bottleneck_channels=(16, 8)),
    'FastSCNN':
    dict(
        in_channels=1,
        downsample_dw_channels=(8, 16),
        global_in_channels=16,
        global_block_channels=(16, 16, 32),
        global_out_channels=32,
        higher_in_channels=16,
        lower_in_channels=32,
        fusion_out_channels=32,
        out_indices=(0, 1, 2)),
    'HRNet':
    dict(in_channels=1, extra=HRNET_EXTRA),
    'ICNet':
    dict(
        in_channels=1,
        backbone_cfg=dict(
            type='ResNetV1c',
            in_channels=1,
            depth=18,
            base_channels=8,
            stem_channels=8,
            dilations=(1, 1, 2, 4),
            strides=(1, 2, 1, 1)),
        layer_channels=(16, 64),
        light_branch_middle_channels=8,
        psp_out_channels=32,
        out_channels=(16, 32, 32)),
    'MSCAN':
    dict(
        embed_dims=[8, 16, 32, 64],
        depths=[1, 1, 1, 1],
        mlp_ratios=[2, 2, 2, 2],
        num_stages=4),
    'MixVisionTransformer':
    dict(
        in_channels=1,
        embed_dims=16,
        num_layers=[1, 1, 1, 1],
        num_heads=[1, 1, 2, 2]),
    'MobileNetV2':
    dict(widen_factor=0.25, out_indices=(1, 2, 4, 6)),
    'MobileNetV3':
    dict(arch='small', out_indices=(0, 1, 12)),
    'PCPVT':
    dict(
        in_channels=1,
        embed_dims=[8, 16, 32, 64],
        num_heads=[1, 1, 2, 2],
        depths=[1, 1, 1, 1],
        sr_ratios=[8, 4, 2, 1],
        mlp_ratios=[2, 2, 2, 2]),
    'SVT':
    dict(
        in_channels=1,
        embed_dims=[8, 16, 32, 64],
        num_heads=[1, 1, 2, 2],
        depths=[1, 1, 1, 1],
        windiow_sizes=[4, 4, 4, 4],
        mlp_ratios=[2, 2, 2, 2],
        sr_ratios=[8, 4, 2, 1]),
    'PIDNet':
    dict(
        in_channels=1,
        channels=8,
        ppm_channels=16,
        num_stem_blocks=1,
        num_branch_blocks=1),
    'ResNeSt':
    dict(
        in_channels=1,
        depth=50,
        stem_channels=8,
        base_channels=4,
        num_stages=2,
        out_indices=(0, 1),
        strides=(1, 2),
        dilations=(1, 1)),
    'ResNeXt':
    dict(
        in_channels=1,
        depth=50,
        groups=2,
        base_width=4,
        stem_channels=8,
        base_channels=8,
        num_stages=2,
        out_indices=(0, 1),
        strides=(1, 2),
        dilations=(1, 1)),
    'ResNet':
    dict(in_channels=1, depth=18, stem_channels=8, base_channels=8),
    'ResNetV1c':
    dict(in_channels=1, depth=18, stem_channels=8, base_channels=8),
    'ResNetV1d':
    dict(in_channels=1, depth=18, stem_channels=8, base_channels=8),
    'STDCContextPathNet':
    dict(
        backbone_cfg=dict(STDC, type='STDCNet'),
        last_in_channels=(128, 64),
        out_channels=32,
        ffm_cfg=dict(in_channels=64, out_channels=32, scale_factor=4)),
    'STDCNet':
    STDC,
    'SwinTransformer':
    dict(
        in_channels=1,
        pretrain_img_size=SIZE,
        embed_dims=16,
        depths=(1, 1, 1, 1),
        num_heads=(1, 1, 2, 2),
        window_size=4),
    'UNet':
    dict(
        in_channels=1,
        base_channels=8,
        num_stages=3,
        strides=(1, 1, 1),
        enc_num_convs=(1, 1, 1),
        dec_num_convs=(1, 1),
        downsamples=(True, True),
        enc_dilations=(1, 1, 1),
        dec_dilations=(1, 1)),
}
#: backbones built through a wrapper of ideal_mm.models.backbones
WRAP = {
    'MobileNetV2': dict(type='RepeatInputChannels', channels=3),
    'MobileNetV3': dict(type='RepeatInputChannels', channels=3),
    'MSCAN': dict(type='RepeatInputChannels', channels=3),
    'PIDNet': dict(type='MainOutput', train_index=1),
    'DDRNet': dict(type='MainOutput', train_index=1),
}
#: the level the dense head reads when not the last one: the last level of
#: these mixes in global context (attention, pooled or upsampled context
#: branches), which the probe rightly refuses as not local
PROJ_LEVEL = {
    'BiSeNetV1': 0,
    'FastSCNN': 0,
    'MobileNetV3': 1,
    'STDCContextPathNet': 0
}
#: backbones the probe cannot measure: their cell geometry, given in the
#: config (docs/backbones.md says why)
EXPLICIT_GEOMETRY = {
    # ERFNet's encoder-decoder returns full-resolution features whose cells
    # see the whole image (the probe refuses them, correctly)
    'ERFNet': dict(stride=1, offset=0),
    # the 1/8 output adds a bilinearly upsampled context branch (DAPPM /
    # PAPPM) to the local branch; the geometry is the local branch's
    # arithmetic (3x3 convolutions padded 1: cell j at 8 j)
    'DDRNet': dict(stride=8, offset=0),
    # the 1/8 fusion output gates the spatial path (7x7/2 then two 3x3/2
    # convolutions, padded k // 2: cell j at 8 j) with globally pooled
    # attention
    'BiSeNetV1': dict(stride=8, offset=0),
    'PIDNet': dict(stride=8, offset=0),
}
#: backbones that cannot run here: name -> (module that must be missing,
#: reason)
UNAVAILABLE = {
    'TIMMBackbone': ('timm', 'needs the timm package (pip install timm); '
                     'not a dependency of ideal_mm'),
    'VPD': ('ldm', 'needs Stable Diffusion (the ldm package and its '
            'weights)'),
}


def registry_backbones():
    """Every backbone class mmseg exports and registers."""
    return sorted(
        name for name in mmseg_backbones.__all__
        if MODELS.get(name) is not None)


SWEEP = [n for n in registry_backbones() if n not in UNAVAILABLE]


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """Tiny tensors: one thread avoids OpenMP spin-wait on 2 shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def backbone_cfg(name):
    cfg = dict(type=name, **TINY[name])
    if name in WRAP:
        cfg = dict(WRAP[name], backbone=cfg)
    return cfg


def levels_of(cfg):
    """(channels per level, number of levels) in training mode."""
    net = MODELS.build(cfg)
    net.train()
    with torch.no_grad():
        out = net(torch.randn(2, 1, SIZE, SIZE))
    out = [out] if isinstance(out, torch.Tensor) else list(out)
    return [int(o.shape[1]) for o in out]


def two_view_batch(seed=0):
    import numpy as np
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import TRANSFORMS
    rng = np.random.RandomState(seed)
    pipeline = [
        TRANSFORMS.build(dict(type='DenseContrastiveTwoView', out_size=SIZE)),
        TRANSFORMS.build(dict(type='PackTwoViewInputs'))
    ]
    items = []
    np.random.seed(seed)
    for _ in range(2):
        r = dict(img=rng.rand(80, 72).astype(np.float32))
        for t in pipeline:
            r = t(r)
        items.append(r)
    return pseudo_collate(items)


def semi_batch():
    torch.manual_seed(0)
    samples = []
    for i in range(4):
        s = SegDataSample(
            metainfo=dict(
                img_shape=(SIZE, SIZE),
                ori_shape=(SIZE, SIZE),
                padding_size=[0, 0, 0, 0]))
        if i < 2:
            s.gt_sem_seg = PixelData(data=torch.randint(0, 4, (1, SIZE, SIZE)))
        samples.append(s)
    return dict(
        inputs=[torch.rand(1, SIZE, SIZE) for _ in range(4)],
        data_samples=samples)


def decoders(channels):
    """Two decoders of different architecture over every level, or two
    FCNHeads (1 and 2 convolutions) over a single level."""
    losses = [dict(type='CrossEntropyLoss', loss_weight=1.0)]
    if len(channels) > 1:
        head = dict(
            type='UNetDecoderHead',
            in_channels=channels,
            in_index=list(range(len(channels))),
            channels=8,
            num_classes=4,
            norm_cfg=BN,
            loss_decode=losses)
        return (dict(head, upsample_mode='bilinear'),
                dict(head, upsample_mode='deconv'))
    head = dict(
        type='FCNHead',
        in_channels=channels[0],
        in_index=0,
        channels=8,
        num_classes=4,
        norm_cfg=BN,
        loss_decode=losses,
        concat_input=False)
    return dict(head, num_convs=1), dict(head, num_convs=2)


def changed(before, module):
    return any(not torch.equal(b, a.detach())
               for b, a in zip(before, module.parameters()))


@pytest.mark.parametrize('name', SWEEP)
def test_backbone_through_ideal(name, tmp_path):
    assert name in TINY, (
        f'mmseg registers a backbone {name} that the sweep does not know: '
        f'add tiny constructor arguments to TINY (or a reason to '
        f'UNAVAILABLE) and a row to docs/backbones.md')
    torch.manual_seed(0)
    cfg = backbone_cfg(name)
    channels = levels_of(cfg)
    level = PROJ_LEVEL.get(name, len(channels) - 1)
    # stage 1: one step; the geometry comes from the table or the probe
    pre = MODELS.build(
        dict(
            type='DenseContrastivePretrainer',
            backbone=cfg,
            proj_head=dict(
                type='DenseConvProjHead',
                in_channels=channels[level],
                in_index=level,
                channels=8),
            loss=dict(type='DenseContrastiveLoss', num_samples=16),
            cell_geometry=EXPLICIT_GEOMETRY.get(name, 'auto')))
    init_weights_verified(pre)
    optim = OptimWrapper(torch.optim.SGD(pre.parameters(), lr=0.1))
    before = [p.detach().clone() for p in pre.backbone.parameters()]
    log = pre.train_step(two_view_batch(), optim)
    assert torch.isfinite(log['loss']), log
    assert changed(before, pre.backbone)
    # export, through the checkpoint file tools/export_encoder.py reads
    ckpt, enc = str(tmp_path / 'iter_1.pth'), str(tmp_path / 'encoder.pth')
    torch.save(dict(state_dict=pre.state_dict(), meta=dict(iter=1)), ckpt)
    meta = export_encoder(ckpt, enc)
    exported = pre.backbone.state_dict()
    assert meta['num_tensors'] == len(exported)
    # stage 2: backbone-level Pretrained with prefix, every tensor checked
    head_1, head_2 = decoders(channels)
    semi = MODELS.build(
        dict(
            type='BiConsistencySemiSupModel',
            data_preprocessor=plain_preprocessor(size=(SIZE, SIZE)),
            segmentor=dict(
                backbone=dict(
                    cfg,
                    init_cfg=dict(
                        type='Pretrained', checkpoint=enc,
                        prefix='backbone.')),
                decode_head=head_1),
            decode_head_2=head_2,
            semi_train_cfg=dict(rampup_iters=0, max_consistency_weight=0.5)))
    # the two-stream model holds its encoder in the student (semi base)
    assert init_weights_verified(semi) == {'student.backbone': len(exported)}
    loaded = semi.backbone.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in exported.items())
    optim = OptimWrapper(torch.optim.SGD(semi.parameters(), lr=0.01))
    before = [p.detach().clone() for p in semi.backbone.parameters()]
    log = semi.train_step(semi_batch(), optim)
    assert torch.isfinite(log['loss']), log
    assert changed(before, semi.backbone)
    # prediction
    semi.eval()
    data = semi.data_preprocessor(semi_batch(), False)
    with torch.no_grad():
        out = semi.predict(data['inputs'], data['data_samples'])
    assert len(out) == 4
    assert all(s.pred_sem_seg.data.shape == (1, SIZE, SIZE) for s in out)


@pytest.mark.parametrize('name', sorted(UNAVAILABLE))
def test_unavailable_backbone_reason_still_holds(name):
    module, reason = UNAVAILABLE[name]
    assert name in registry_backbones()
    assert importlib.util.find_spec(module) is None, (
        f'{module} is importable now: {name} may work; move it from '
        f'UNAVAILABLE to TINY ({reason})')
    with pytest.raises(Exception):
        MODELS.build(dict(type=name))


# -- loading that cannot fail silently ----------------------------------------
TINY_VIT = dict(type='VisionTransformer', **VIT)


def exported_encoder(tmp_path, cfg):
    from ideal_mm.engine.export_encoder import save_encoder
    torch.manual_seed(1)
    net = MODELS.build(cfg)
    net.init_weights()
    path = str(tmp_path / 'encoder.pth')
    save_encoder(net.state_dict(), path)
    return path, net.state_dict()


def test_vit_ignores_the_prefix_without_the_verified_loader(tmp_path):
    """The reason for init_weights_verified: mmseg's own init_weights of
    VisionTransformer leaves a backbone-level prefixed file unloaded."""
    path, state = exported_encoder(tmp_path, TINY_VIT)
    init_cfg = dict(type='Pretrained', checkpoint=path, prefix='backbone.')
    plain = MODELS.build(dict(TINY_VIT, init_cfg=init_cfg))
    plain.init_weights()
    for key in ('patch_embed.projection.weight', 'cls_token', 'pos_embed'):
        assert not torch.equal(plain.state_dict()[key], state[key]), key
    verified = MODELS.build(dict(TINY_VIT, init_cfg=init_cfg))
    assert init_weights_verified(verified) == {'model': len(state)}
    assert all(
        torch.equal(verified.state_dict()[k], v) for k, v in state.items())
    assert verified.init_cfg is None  # taken off, loaded by ideal_mm


def test_encoder_of_another_configuration_is_a_one_line_error(tmp_path):
    path, state = exported_encoder(tmp_path, TINY_VIT)
    seg = MODELS.build(
        dict(
            type='EncoderDecoder',
            backbone=dict(
                TINY_VIT,
                embed_dims=64,
                init_cfg=dict(
                    type='Pretrained', checkpoint=path, prefix='backbone.')),
            decode_head=dict(
                type='FCNHead',
                in_channels=64,
                channels=8,
                num_convs=1,
                num_classes=4,
                in_index=0)))
    with pytest.raises(ConfigError) as err:
        init_weights_verified(seg)
    msg = str(err.value)
    assert '\n' not in msg
    assert msg.startswith('model.backbone (VisionTransformer): loaded 0 of '
                          f'{len(state)} tensors of')
    assert 'other shape: cls_token (1, 1, 32) vs (1, 1, 64)' in msg


def test_segmentor_level_form_and_missing_keys(tmp_path):
    path, state = exported_encoder(tmp_path, TINY_VIT)
    cfg = dict(
        type='EncoderDecoder',
        backbone=TINY_VIT,
        init_cfg=dict(type='Pretrained', checkpoint=path),
        decode_head=dict(
            type='FCNHead',
            in_channels=32,
            channels=8,
            num_convs=1,
            num_classes=4,
            in_index=0))
    seg = MODELS.build(cfg)
    assert init_weights_verified(seg) == {'model': len(state)}
    assert all(
        torch.equal(seg.state_dict()['backbone.' + k], v)
        for k, v in state.items())
    # a file whose keys name no module of the model
    seg = MODELS.build(dict(cfg, backbone=dict(TINY_VIT, num_layers=1)))
    with pytest.raises(
            ConfigError,
            match=r'model \(VisionTransformer\): '
            r'loaded \d+ of \d+ tensors .*not in the model: '
            r'backbone\.layers\.1\.'):
        init_weights_verified(seg)


def stub_runner(model, load_from=None, resume=False):
    import logging
    from types import SimpleNamespace

    from mmengine.runner import BaseLoop

    class Loop(BaseLoop):

        def __init__(self):  # no dataloader needed here
            pass

        def run(self):
            pass

    return SimpleNamespace(
        model=model,
        _train_loop=Loop(),
        _resume=resume,
        _load_from=load_from,
        logger=logging.getLogger('stub'))


def test_verified_init_hook_loads_and_checks_load_from(tmp_path):
    from ideal_mm.engine.encoder_loading import VerifiedInitHook
    path, state = exported_encoder(tmp_path, TINY_VIT)
    net = MODELS.build(
        dict(
            TINY_VIT,
            init_cfg=dict(
                type='Pretrained', checkpoint=path, prefix='backbone.')))
    hook = VerifiedInitHook()
    hook.before_run(stub_runner(net))
    assert all(torch.equal(net.state_dict()[k], v) for k, v in state.items())
    # load_from: the Runner loaded it; a tensor with another value is caught
    ckpt = str(tmp_path / 'iter_5.pth')
    torch.save(dict(state_dict=net.state_dict()), ckpt)
    hook.before_train(stub_runner(net, load_from=ckpt))
    with torch.no_grad():
        net.cls_token.add_(1)
    with pytest.raises(
            ConfigError,
            match=r'load_from into '
            r'VisionTransformer: loaded \d+ of \d+ tensors .*'
            r'other value: cls_token'):
        hook.before_train(stub_runner(net, load_from=ckpt))
    hook.before_train(stub_runner(net, load_from=ckpt, resume=True))
    # test-only runs (no train loop) and resumed runs are left alone
    fresh = MODELS.build(
        dict(
            TINY_VIT,
            init_cfg=dict(
                type='Pretrained', checkpoint=path, prefix='backbone.')))
    runner = stub_runner(fresh)
    runner._train_loop = dict(type='IterBasedTrainLoop')
    hook.before_run(runner)
    hook.before_run(stub_runner(fresh, resume=True))
    assert fresh.init_cfg is not None
    # nothing to load: left to the Runner's own init_weights
    plain = MODELS.build(TINY_VIT)
    hook.before_run(stub_runner(plain))
    assert not plain.is_init


def test_written_encoder_is_read_back(tmp_path):
    from ideal_mm.engine.export_encoder import verify_encoder_file
    from ideal_mm.errors import CheckpointError
    path, state = exported_encoder(tmp_path, TINY_VIT)
    expected = {'backbone.' + k: v for k, v in state.items()}
    assert verify_encoder_file(path, expected) == len(state)
    expected['backbone.cls_token'] = expected['backbone.cls_token'] + 1
    with pytest.raises(CheckpointError, match='other values'):
        verify_encoder_file(path, expected)


# -- the wrappers: 1 channel in, one level out --------------------------------
def test_repeat_input_channels():
    torch.manual_seed(0)
    net = MODELS.build(backbone_cfg('MobileNetV2'))
    assert type(net).__name__ == 'MobileNetV2'  # the module is not wrapped
    net.eval()
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        ones = net(x)
        threes = net(x.repeat(1, 3, 1, 1))
    assert all(torch.equal(a, b) for a, b in zip(ones, threes))
    with pytest.raises(ConfigError, match='got 2-channel input'):
        net(torch.rand(2, 2, 32, 32))
    with pytest.raises(ConfigError, match='model.backbone.channels'):
        MODELS.build(
            dict(
                type='RepeatInputChannels',
                channels=0,
                backbone=dict(type='MobileNetV2')))


def test_main_output_is_one_level_in_both_modes():
    torch.manual_seed(0)
    cfg = dict(type='PIDNet', **TINY['PIDNet'])
    bare, wrapped = MODELS.build(cfg), MODELS.build(backbone_cfg('PIDNet'))
    wrapped.load_state_dict(bare.state_dict())
    x = torch.rand(2, 1, 64, 64)
    for training in (True, False):
        bare.train(training)
        wrapped.train(training)
        torch.manual_seed(1)
        want = bare(x)
        torch.manual_seed(1)
        got = wrapped(x)
        want = want[1] if training else want
        assert isinstance(got, tuple) and len(got) == 1
        assert torch.equal(got[0], want)
