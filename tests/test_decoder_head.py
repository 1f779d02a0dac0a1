"""UNetDecoderHead over UNetEncoder, ResNetV1c-50 and MiT-B0 feature
layouts."""
import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from ideal_mm.errors import ConfigError

init_default_scope('mmseg')
BN = dict(type='BN')


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """Tiny tensors: one intra-op thread avoids OpenMP spin-wait contention
    on a shared 2-core machine (10-40x slower with 2 threads under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build_head(in_channels, channels, mode='bilinear', **kwargs):
    return MODELS.build(
        dict(
            type='UNetDecoderHead',
            in_channels=in_channels,
            channels=channels,
            upsample_mode=mode,
            num_classes=4,
            norm_cfg=BN,
            dropout_ratio=0.0,
            **kwargs))


@pytest.mark.parametrize('mode', ['bilinear', 'deconv', 'nearest'])
def test_over_unet_encoder(mode):
    enc = MODELS.build(
        dict(
            type='UNetEncoder',
            in_channels=1,
            base_channels=4,
            num_stages=4,
            strides=(1, 1, 1, 1),
            enc_num_convs=(2, 2, 2, 2),
            dec_num_convs=(2, 2, 2),
            downsamples=(True, True, True),
            enc_dilations=(1, 1, 1, 1),
            dec_dilations=(1, 1, 1),
            norm_cfg=BN))
    head = build_head([4, 8, 16, 32], 4, mode)
    x = torch.randn(2, 1, 32, 32)
    out = head(enc(x))
    assert out.shape == (2, 4, 32, 32)
    deconvs = [m for m in head.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(deconvs) == (3 if mode == 'deconv' else 0)
    # The deepest features reach the output: gradients flow into every
    # up-block and back to the input.
    x.requires_grad_(True)
    head(enc(x)).sum().backward()
    assert x.grad.abs().sum() > 0
    for block in head.up_blocks:
        assert all(p.grad is not None for p in block.parameters())


@pytest.mark.parametrize('layout', [
    ([256, 512, 1024, 2048], 'ResNetV1c-50'),
    ([32, 64, 160, 256], 'MiT-B0'),
])
@pytest.mark.parametrize('mode', ['bilinear', 'deconv'])
def test_over_quarter_resolution_encoders(layout, mode):
    channels, _ = layout
    # Features at 1/4 .. 1/32 of a 64x64 input, as these encoders return.
    feats = [
        torch.randn(2, c, 16 // 2**i, 16 // 2**i)
        for i, c in enumerate(channels)
    ]
    head = build_head(channels, 32, mode, decoder_channels=[32, 64, 128, 256])
    out = head(feats)
    assert out.shape == (2, 4, 16, 16)  # shallowest level's resolution
    # mmseg's predict_by_feat resizes to the input size.
    metas = [dict(img_shape=(64, 64))] * 2
    assert head.predict_by_feat(out, metas).shape == (2, 4, 64, 64)


def test_real_mit_b0_and_odd_sizes():
    enc = MODELS.build(
        dict(
            type='MixVisionTransformer',
            in_channels=1,
            embed_dims=32,
            num_heads=[1, 2, 5, 8],
            num_layers=[1, 1, 1, 1]))
    head = build_head([32, 64, 160, 256], 32, 'deconv')
    out = head(enc(torch.randn(1, 1, 72, 72)))
    assert out.shape == (1, 4, 18, 18)
    # Levels that are not exact halves (odd sizes) are resized to the skip.
    feats = [
        torch.randn(1, 4, 15, 15),
        torch.randn(1, 8, 7, 7),
        torch.randn(1, 16, 3, 3)
    ]
    assert build_head([4, 8, 16], 4, 'deconv')(feats).shape == (1, 4, 15, 15)


def test_in_index_selects_levels():
    feats = [
        torch.randn(1, c, 32 // 2**i, 32 // 2**i)
        for i, c in enumerate([4, 8, 16, 32])
    ]
    head = build_head([8, 16, 32], 8, in_index=[1, 2, 3])
    assert head(feats).shape == (1, 4, 16, 16)


def test_bad_config():
    with pytest.raises(ConfigError, match='upsample_mode'):
        build_head([4, 8], 4, 'bicubic')
    with pytest.raises(ConfigError, match='decoder_channels'):
        build_head([4, 8], 4, decoder_channels=[8, 8])
    with pytest.raises(ConfigError, match='two levels'):
        build_head([4], 4)


def test_conv_seg_keeps_pytorch_initialisation():
    """mmseg's Normal(std=0.01) on conv_seg stalled few-label training."""
    from mmseg.registry import MODELS
    head = MODELS.build(
        dict(
            type='UNetDecoderHead',
            in_channels=[8, 16],
            channels=8,
            num_classes=4))
    assert head.init_cfg is None
    head.init_weights()
    # kaiming_uniform(a=sqrt(5)) with fan_in 8: U(-1/sqrt(8), 1/sqrt(8)),
    # std 0.204; mmseg's default would give 0.01
    assert 0.1 < float(head.conv_seg.weight.std()) < 0.35
