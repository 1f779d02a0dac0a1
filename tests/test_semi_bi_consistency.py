"""BiConsistencySemiSupModel: loss split, pseudo-supervision direction,
ramp-up, confidence threshold, prediction."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from semi_helpers import BN, plain_preprocessor, tiny_unet_encoder

import ideal_mm  # noqa: F401  (before mmseg)
from ideal_mm.errors import ConfigError
from ideal_mm.models.segmentors.pseudo_labelling import pseudo_labels
from ideal_mm.models.segmentors.ramps import consistency_weight, sigmoid_rampup

init_default_scope('mmseg')
LOSSES = [
    dict(type='CrossEntropyLoss', loss_weight=1.0),
    dict(type='ClassDiceLoss', loss_weight=1.0)
]


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """Tiny tensors: one intra-op thread avoids OpenMP spin-wait contention
    on a shared 2-core machine (10-40x slower with 2 threads under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def head(mode):
    return dict(
        type='UNetDecoderHead',
        in_channels=[4, 8, 16],
        channels=4,
        upsample_mode=mode,
        num_classes=4,
        norm_cfg=BN,
        dropout_ratio=0.0,
        loss_decode=LOSSES)


def build_model(**semi_train_cfg):
    cfg = dict(rampup_iters=0, max_consistency_weight=0.5)
    cfg.update(semi_train_cfg)
    return MODELS.build(
        dict(
            type='BiConsistencySemiSupModel',
            data_preprocessor=plain_preprocessor(size=(16, 16)),
            segmentor=dict(
                backbone=tiny_unet_encoder(), decode_head=head('bilinear')),
            decode_head_2=head('deconv'),
            semi_train_cfg=cfg))


def batch(n_lab=2, n_unl=2, size=16, padding=None):
    torch.manual_seed(0)
    inputs = torch.randn(n_lab + n_unl, 1, size, size)
    samples = []
    for i in range(n_lab + n_unl):
        s = SegDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                padding_size=padding or [0, 0, 0, 0]))
        if i < n_lab:
            s.gt_sem_seg = PixelData(data=torch.randint(0, 4, (1, size, size)))
        samples.append(s)
    return inputs, samples


def params(module):
    return [p for p in module.parameters() if p.requires_grad]


def grads(loss, module):
    gs = torch.autograd.grad(
        loss, params(module), retain_graph=True, allow_unused=True)
    return sum(float(g.abs().sum()) for g in gs if g is not None)


@pytest.fixture(autouse=True)
def reset_iter():
    MessageHub.get_current_instance().update_info('iter', 0)
    yield
    MessageHub.get_current_instance().update_info('iter', 0)


def test_pseudo_supervision_direction():
    model = build_model()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    # y1 (from stream 1) supervises stream 2: 'unsup.s2.loss_cps'.
    from_y1 = losses['unsup.s2.loss_cps']
    from_y2 = losses['unsup.s1.loss_cps']
    assert grads(from_y1, model.decode_head_1) == 0
    assert grads(from_y1, model.decode_head_2) > 0
    assert grads(from_y1, model.backbone) > 0
    assert grads(from_y2, model.decode_head_2) == 0
    assert grads(from_y2, model.decode_head_1) > 0
    assert grads(from_y2, model.backbone) > 0
    # Supervised terms of stream k only reach decoder k (and the encoder).
    assert grads(losses['sup.s1.loss_ce'], model.decode_head_2) == 0
    assert grads(losses['sup.s2.loss_dice'], model.decode_head_1) == 0
    assert grads(losses['sup.s2.loss_dice'], model.backbone) > 0


def test_losses_against_independent_computation():
    model = build_model(max_consistency_weight=0.7)
    inputs, samples = batch(n_lab=1, n_unl=3)
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        z1, z2 = model._forward(inputs)
        gt = samples[0].gt_sem_seg.data.long()
        ce1 = F.cross_entropy(z1[:1], gt)
        y1 = z1[1:].argmax(1)
        y2 = z2[1:].argmax(1)
        cps2 = 0.7 * F.cross_entropy(z2[1:], y1)
        cps1 = 0.7 * F.cross_entropy(z1[1:], y2)
    assert torch.allclose(losses['sup.s1.loss_ce'], ce1, atol=1e-5)
    assert torch.allclose(losses['unsup.s2.loss_cps'], cps2, atol=1e-5)
    assert torch.allclose(losses['unsup.s1.loss_cps'], cps1, atol=1e-5)
    # parse_losses sums only keys with 'loss'; the weight is logged only.
    total, log_vars = model.parse_losses(losses)
    expected = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.allclose(total, expected)
    assert math.isclose(float(log_vars['unsup.weight']), 0.7, rel_tol=1e-6)
    assert {
        'sup.s1.loss_ce', 'sup.s1.loss_dice', 'sup.s2.loss_ce',
        'sup.s2.loss_dice', 'sup.s1.acc_seg'
    } <= set(log_vars)


def test_unsup_on_all_uses_every_sample():
    model = build_model(unsup_on='all', max_consistency_weight=1.0)
    inputs, samples = batch(n_lab=2, n_unl=0)
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        z1, z2 = model._forward(inputs)
        expected = F.cross_entropy(z2, z1.argmax(1))
    assert torch.allclose(losses['unsup.s2.loss_cps'], expected, atol=1e-5)
    # default 'unlabelled': a batch without unlabelled samples has no CPS
    assert 'unsup.s2.loss_cps' not in build_model().loss(inputs, samples)


@pytest.mark.parametrize('t,expected', [(0, math.exp(-5)),
                                        (25, math.exp(-5 * 0.75**2)),
                                        (50, math.exp(-1.25)), (100, 1.0),
                                        (250, 1.0)])
def test_rampup_values(t, expected):
    assert math.isclose(sigmoid_rampup(t, 100), expected, rel_tol=1e-9)
    assert math.isclose(
        consistency_weight(t, 0.1, 100), 0.1 * expected, rel_tol=1e-9)


def test_rampup_zero_length_and_message_hub():
    assert sigmoid_rampup(0, 0) == 1.0
    model = build_model(rampup_iters=100, max_consistency_weight=2.0)
    inputs, samples = batch()
    MessageHub.get_current_instance().update_info('iter', 50)
    losses = model.loss(inputs, samples)
    assert math.isclose(
        float(losses['unsup.weight']), 2.0 * math.exp(-1.25), rel_tol=1e-6)


def test_threshold_masking():
    logits = torch.zeros(1, 4, 1, 3)
    logits[0, 2, 0, 0] = 5.0  # confident class 2
    logits[0, 1, 0, 1] = 0.5  # unsure class 1 (p ~ 0.35)
    logits[0, 3, 0, 2] = 5.0  # confident, but padding
    valid = torch.tensor([[[True, True, False]]])
    labels, kept = pseudo_labels(logits, 0.9, 255, valid)
    assert labels.tolist() == [[[2, 255, 255]]]
    assert kept.tolist() == [[[True, False, False]]]
    labels, _ = pseudo_labels(logits, None, 255)
    assert labels.tolist() == [[[2, 1, 3]]]


def test_threshold_in_loss_matches_masked_ce():
    model = build_model(conf_threshold=0.3, max_consistency_weight=1.0)
    inputs, samples = batch(n_lab=1, n_unl=3)
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        z1, z2 = model._forward(inputs)
        p1 = z1[1:].softmax(1)
        y1 = p1.argmax(1)
        y1[p1.max(1).values < 0.3] = 255
        expected = F.cross_entropy(z2[1:], y1, ignore_index=255)
    assert 0 < float(losses['unsup.s2.kept']) < 1
    assert torch.allclose(losses['unsup.s2.loss_cps'], expected, atol=1e-5)
    # nothing above threshold: zero loss, nothing kept
    losses = build_model(conf_threshold=0.999).loss(inputs, samples)
    assert float(losses['unsup.s2.loss_cps']) == 0.0
    assert float(losses['unsup.s2.kept']) == 0.0


def test_padding_is_ignored():
    model = build_model()
    inputs, samples = batch(n_lab=1, n_unl=1, padding=[0, 4, 0, 8])
    losses = model.loss(inputs, samples)
    assert math.isclose(float(losses['unsup.s1.kept']), (12 * 8) / 256)


@pytest.mark.parametrize('on', ['s1', 's2', 'mean'])
def test_predict(on):
    model = build_model()
    model.semi_test_cfg.predict_on = on
    model.eval()
    inputs, samples = batch(n_lab=1, n_unl=1)
    for s in samples:
        s.set_metainfo(dict(ori_shape=(20, 24)))
    with torch.no_grad():
        out = model.predict(inputs, samples)
        z1, z2 = model._forward(inputs)
    expected = {
        's1': z1,
        's2': z2,
        'mean': (z1.softmax(1) + z2.softmax(1)) / 2
    }[on]
    expected = F.interpolate(expected, size=(20, 24), mode='bilinear')
    for i, sample in enumerate(out):
        assert sample.pred_sem_seg.data.shape == (1, 20, 24)
        assert sample.seg_logits.data.shape == (4, 20, 24)
        assert torch.allclose(sample.seg_logits.data, expected[i], atol=1e-5)
        assert torch.equal(sample.pred_sem_seg.data[0], expected[i].argmax(0))
    assert model.decode_head is (model.decode_head_2
                                 if on == 's2' else model.decode_head_1)


def test_train_step_through_preprocessor():
    model = build_model()
    _, samples = batch(n_lab=2, n_unl=2)
    data = dict(
        inputs=[torch.rand(1, 16, 16) for _ in range(4)], data_samples=samples)
    from mmengine.optim import OptimWrapper
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    before = [p.detach().clone() for p in model.decode_head_2.parameters()]
    log_vars = model.train_step(data, wrapper)
    assert torch.isfinite(log_vars['loss'])
    after = list(model.decode_head_2.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))


def test_bad_semi_cfg():
    with pytest.raises(ConfigError, match='unknown'):
        build_model(rampup=10)
    with pytest.raises(ConfigError, match='conf_threshold'):
        build_model(conf_threshold=1.5)
    with pytest.raises(ConfigError, match='unsup_on'):
        build_model(unsup_on='labelled')


def test_flat_keys_name_the_student_form():
    """A config written for the flat form (model.backbone, decode_head_1)
    gets a ConfigError that says where each key moved."""
    flat = dict(
        type='BiConsistencySemiSupModel',
        data_preprocessor=plain_preprocessor(size=(16, 16)),
        backbone=tiny_unet_encoder(),
        decode_head_1=head('bilinear'),
        decode_head_2=head('deconv'))
    with pytest.raises(ConfigError) as err:
        MODELS.build(flat)
    msg = str(err.value)
    assert 'model.segmentor=dict(' in msg
    assert 'model.backbone -> model.segmentor.backbone' in msg
    assert 'model.decode_head_1 -> model.segmentor.decode_head' in msg
    with pytest.raises(ConfigError, match='model.decode_head_2'):
        MODELS.build(
            dict(
                type='BiConsistencySemiSupModel',
                segmentor=dict(
                    backbone=tiny_unet_encoder(),
                    decode_head=head('bilinear'))))
    with pytest.raises(ConfigError, match=r"unknown .*'decoder_3'"):
        MODELS.build(
            dict(
                type='BiConsistencySemiSupModel',
                segmentor=dict(
                    backbone=tiny_unet_encoder(),
                    decode_head=head('bilinear')),
                decode_head_2=head('deconv'),
                decoder_3=head('deconv')))


def test_classes_differ_between_streams():
    with pytest.raises(
            ConfigError,
            match='model.segmentor.decode_head and '
            'model.decode_head_2'):
        MODELS.build(
            dict(
                type='BiConsistencySemiSupModel',
                segmentor=dict(
                    backbone=tiny_unet_encoder(),
                    decode_head=head('bilinear')),
                decode_head_2=dict(head('deconv'), num_classes=3)))


def test_export_encoder_of_a_two_stream_checkpoint(tmp_path):
    """tools/export_encoder.py takes the student's encoder
    (student.backbone.*) of a two-stream checkpoint; it loads back into a
    bare encoder exactly."""
    from ideal_mm.engine.export_encoder import export_encoder
    model = build_model()
    state = model.state_dict()
    assert any(k.startswith('student.backbone.') for k in state)
    assert not any(k.startswith('backbone.') for k in state)
    ckpt, out = str(tmp_path / 'iter_1.pth'), str(tmp_path / 'encoder.pth')
    torch.save(dict(state_dict=state, meta=dict(iter=1)), ckpt)
    meta = export_encoder(ckpt, out)
    encoder = model.student.backbone
    assert meta['num_tensors'] == len(encoder.state_dict())
    fresh = MODELS.build(tiny_unet_encoder())
    written = torch.load(out)['state_dict']
    assert set(written) == {f'backbone.{k}' for k in encoder.state_dict()}
    fresh.load_state_dict({
        k[len('backbone.'):]: v
        for k, v in written.items()
    })
    for k, v in encoder.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v), k
