"""encoder.pth export: loads into mmseg segmentors with equal tensors."""
import os.path as osp
import runpy
import sys

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from ideal_mm.engine.export_encoder import export_encoder
from ideal_mm.errors import CheckpointError

init_default_scope('mmseg')

UNET = dict(
    in_channels=1,
    base_channels=4,
    num_stages=3,
    strides=(1, 1, 1),
    enc_num_convs=(2, 2, 2),
    dec_num_convs=(2, 2),
    downsamples=(True, True),
    enc_dilations=(1, 1, 1),
    dec_dilations=(1, 1),
    norm_cfg=dict(type='BN'))
TOOL = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
    'export_encoder.py')


def trained_pretrainer():
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='DenseContrastivePretrainer',
            backbone=dict(type='UNetEncoder', **UNET),
            proj_head=dict(type='DenseConvProjHead', in_channels=16)))
    model.init_weights()
    with torch.no_grad():  # weights and BN statistics no init would produce
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(torch.randn_like(t).abs() + 0.1)
        model.update_teacher()
    return model


def save_runner_style(path, model):
    """Checkpoint as mmengine's CheckpointHook writes it."""
    torch.save(
        dict(
            meta=dict(iter=7, epoch=0, experiment_name='x'),
            state_dict=model.state_dict(),
            message_hub=dict(log_scalars=dict(
                loss=HistoryBuffer([0.5], [1])))), path)


def segmentor(backbone, init_cfg=None):
    return MODELS.build(
        dict(
            type='EncoderDecoder',
            init_cfg=init_cfg,
            backbone=backbone,
            decode_head=dict(
                type='FCNHead',
                in_channels=16,
                in_index=2,
                channels=8,
                num_convs=1,
                num_classes=4,
                norm_cfg=dict(type='BN'))))


def assert_backbone_equal(loaded, source, allow_missing_prefix=None):
    src = source.state_dict()
    for key, value in loaded.state_dict().items():
        if allow_missing_prefix and key.startswith(allow_missing_prefix):
            continue
        assert key in src, f'{key} not exported'
        assert torch.equal(value, src[key]), key


def test_pretrainer_checkpoint_exports_and_loads_with_prefix(tmp_path):
    model = trained_pretrainer()
    ckpt = str(tmp_path / 'iter_7.pth')
    save_runner_style(ckpt, model)
    out = str(tmp_path / 'enc' / 'encoder.pth')
    meta = export_encoder(ckpt, out)
    assert meta['iter'] == 7 and meta['num_tensors'] == len(
        model.backbone.state_dict())
    saved = torch.load(out, weights_only=True)
    assert set(saved['state_dict']) == {
        'backbone.' + k
        for k in model.backbone.state_dict()
    }
    assert saved['meta']['prefix'] == 'backbone.'
    # backbone-level Pretrained init with prefix (the documented usage)
    seg = segmentor(
        dict(
            type='UNetEncoder',
            **UNET,
            init_cfg=dict(
                type='Pretrained', checkpoint=out, prefix='backbone.')))
    seg.init_weights()
    assert_backbone_equal(seg.backbone, model.backbone)
    # segmentor-level Pretrained init (keys already carry backbone.)
    seg2 = segmentor(
        dict(type='UNetEncoder', **UNET),
        init_cfg=dict(type='Pretrained', checkpoint=out))
    seg2.init_weights()
    assert_backbone_equal(seg2.backbone, model.backbone)
    # mmseg's full UNet: every encoder key loads, only the decoder is new
    seg3 = segmentor(
        dict(
            type='UNet',
            **UNET,
            init_cfg=dict(
                type='Pretrained', checkpoint=out, prefix='backbone.')))
    seg3.init_weights()
    assert_backbone_equal(
        seg3.backbone, model.backbone, allow_missing_prefix='decoder.')


def test_segmentor_checkpoint_and_errors(tmp_path):
    seg = segmentor(dict(type='UNetEncoder', **UNET))
    ckpt = str(tmp_path / 'seg.pth')
    torch.save(
        dict(state_dict={
            'module.' + k: v
            for k, v in seg.state_dict().items()
        }), ckpt)
    out = str(tmp_path / 'encoder.pth')
    export_encoder(ckpt, out)
    saved = torch.load(out, weights_only=True)['state_dict']
    assert saved and all(k.startswith('backbone.') for k in saved)
    assert set(saved) == {'backbone.' + k for k in seg.backbone.state_dict()}
    bad = str(tmp_path / 'head_only.pth')
    torch.save(
        dict(state_dict={'decode_head.conv_seg.weight': torch.zeros(1)}), bad)
    with pytest.raises(CheckpointError, match='head_only.pth.*no encoder'):
        export_encoder(bad, str(tmp_path / 'x.pth'))
    assert not osp.exists(tmp_path / 'x.pth')
    with pytest.raises(CheckpointError, match='not found'):
        export_encoder(str(tmp_path / 'missing.pth'), out)


def test_cli_exports_and_reports_errors_without_traceback(
        tmp_path, monkeypatch, capsys):
    model = trained_pretrainer()
    ckpt = str(tmp_path / 'ckpt.pth')
    save_runner_style(ckpt, model)
    out = str(tmp_path / 'encoder.pth')
    monkeypatch.setattr(sys, 'argv', [TOOL, ckpt, out])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(TOOL, run_name='__main__')
    assert exit_info.value.code == 0
    assert 'wrote' in capsys.readouterr().out
    assert osp.isfile(out)
    monkeypatch.setattr(sys, 'argv', [TOOL, str(tmp_path / 'nope.pth'), out])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(TOOL, run_name='__main__')
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith('error:') and 'Traceback' not in err


def test_excluded_stage_keeps_the_loading_models_constructed_weights(tmp_path):
    from ideal_mm.engine.export_encoder import ExportEncoderHook, drop_excluded
    from ideal_mm.errors import ConfigError
    model = trained_pretrainer()
    ckpt = str(tmp_path / 'iter_7.pth')
    save_runner_style(ckpt, model)
    out = str(tmp_path / 'encoder.pth')
    meta = export_encoder(ckpt, out, exclude=['encoder.0.'])
    saved = torch.load(out, weights_only=True)
    assert saved['meta']['excluded'] == ['encoder.0.']
    assert not any(
        k.startswith('backbone.encoder.0.') for k in saved['state_dict'])
    kept = {
        k
        for k in model.backbone.state_dict() if not k.startswith('encoder.0.')
    }
    assert {k[len('backbone.'):] for k in saved['state_dict']} == kept
    assert meta['num_tensors'] == len(kept)
    seg = segmentor(
        dict(
            type='UNetEncoder',
            **UNET,
            init_cfg=dict(
                type='Pretrained', checkpoint=out, prefix='backbone.')))
    # a Pretrained init_cfg replaces the backbone's own (Kaiming) init, so the
    # left-out stage keeps the values its layers were constructed with
    own = {k: v.clone() for k, v in seg.backbone.state_dict().items()}
    seg.init_weights()
    src = model.backbone.state_dict()
    for key, value in seg.backbone.state_dict().items():
        expected = own[key] if key.startswith('encoder.0.') else src[key]
        assert torch.equal(value, expected), key
    # a prefix that matches nothing is a typo, not a silent full export
    with pytest.raises(ConfigError, match="'encoder.9.' matches no encoder"):
        export_encoder(ckpt, str(tmp_path / 'y.pth'), exclude=['encoder.9.'])
    assert not osp.exists(tmp_path / 'y.pth')
    with pytest.raises(ConfigError, match='leaves no encoder weight'):
        drop_excluded(model.backbone.state_dict(), ['encoder.'])
    with pytest.raises(ConfigError, match='ExportEncoderHook.exclude'):
        drop_excluded(model.backbone.state_dict(), ['stem.'],
                      'ExportEncoderHook.exclude')
    assert ExportEncoderHook(exclude='encoder.0.').exclude == ['encoder.0.']


def test_hook_checks_exclude_before_training():
    from types import SimpleNamespace

    from ideal_mm.engine.export_encoder import ExportEncoderHook
    from ideal_mm.errors import ConfigError
    runner = SimpleNamespace(model=trained_pretrainer())
    ExportEncoderHook(exclude=['encoder.0.']).before_train(runner)
    with pytest.raises(ConfigError, match=r"custom_hooks.*'stem\.' matches"):
        ExportEncoderHook(exclude=['stem.']).before_train(runner)
    with pytest.raises(ConfigError, match='has no'):
        ExportEncoderHook().before_train(
            SimpleNamespace(model=torch.nn.Linear(1, 1)))
