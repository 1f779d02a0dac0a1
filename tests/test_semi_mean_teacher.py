"""MeanTeacherSemiSupModel and MeanTeacherHook."""
import math
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import HOOKS, MODELS
from mmseg.structures import SegDataSample

import ideal_mm  # noqa: F401  (before mmseg)
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


def model_cfg(**semi_train_cfg):
    cfg = dict(
        rampup_iters=0,
        max_consistency_weight=0.5,
        ema_momentum=0.25,
        noise_std=0.0)
    cfg.update(semi_train_cfg)
    return dict(
        type='MeanTeacherSemiSupModel',
        segmentor=dict(
            backbone=dict(
                type='UNetEncoder',
                in_channels=1,
                base_channels=4,
                num_stages=3,
                strides=(1, 1, 1),
                enc_num_convs=(1, 1, 1),
                dec_num_convs=(1, 1),
                downsamples=(True, True),
                enc_dilations=(1, 1, 1),
                dec_dilations=(1, 1),
                norm_cfg=BN),
            decode_head=dict(
                type='UNetDecoderHead',
                in_channels=[4, 8, 16],
                channels=4,
                num_classes=4,
                norm_cfg=BN,
                dropout_ratio=0.0)),
        semi_train_cfg=cfg)


def build_model(**semi_train_cfg):
    model = MODELS.build(model_cfg(**semi_train_cfg))
    model.init_weights()
    return model


def batch(n_lab=2, n_unl=2, size=16):
    torch.manual_seed(0)
    samples = []
    for i in range(n_lab + n_unl):
        s = SegDataSample(
            metainfo=dict(img_shape=(size, size), ori_shape=(size, size)))
        if i < n_lab:
            s.gt_sem_seg = PixelData(data=torch.randint(0, 4, (1, size, size)))
        samples.append(s)
    return torch.randn(n_lab + n_unl, 1, size, size), samples


@pytest.fixture(autouse=True)
def reset_iter():
    MessageHub.get_current_instance().update_info('iter', 0)
    yield
    MessageHub.get_current_instance().update_info('iter', 0)


def test_teacher_starts_as_copy_and_follows_ema():
    model = build_model()
    for (k, s), t in zip(model.student.state_dict().items(),
                         model.teacher.module.state_dict().values()):
        assert torch.equal(s, t), k
    assert all(not p.requires_grad for p in model.teacher.parameters())
    model.update_teacher()  # step 0 copies
    student = model.student.decode_head.conv_seg.weight
    teacher = model.teacher.module.decode_head.conv_seg.weight
    old_t = teacher.detach().clone()
    with torch.no_grad():
        student.add_(1.0)
    model.update_teacher()
    assert torch.allclose(teacher, 0.75 * old_t + 0.25 * student)


def test_consistency_loss_and_gradients():
    model = build_model()
    inputs, samples = batch()
    with torch.no_grad():
        # teacher sees only the unlabelled samples (BN batch statistics of
        # that subset, train mode, as SSL4MIS)
        p_t = model.teacher.module._forward(inputs[2:]).softmax(1)
    with torch.no_grad():
        model.student.decode_head.conv_seg.bias.add_(
            torch.tensor([1.0, 0.0, -1.0, 0.5]))
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        p_s = model.student._forward(inputs)[2:].softmax(1)
        expected = 0.5 * ((p_s - p_t)**2).mean()
    assert torch.allclose(losses['unsup.loss_mse'], expected, atol=1e-6)
    grads = torch.autograd.grad(
        losses['unsup.loss_mse'], [p for p in model.student.parameters()],
        allow_unused=True)
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0
    assert float(losses['unsup.weight']) == 0.5
    assert 'sup.loss_ce' in losses and 'sup.acc_seg' in losses


def test_rampup_weight_and_missing_hook_error():
    model = build_model(rampup_iters=10, max_consistency_weight=0.1)
    inputs, samples = batch()
    MessageHub.get_current_instance().update_info('iter', 5)
    with pytest.raises(ConfigError, match='MeanTeacherHook'):
        model.loss(inputs, samples)
    model.update_teacher()
    losses = model.loss(inputs, samples)
    assert math.isclose(
        float(losses['unsup.weight']), 0.1 * math.exp(-5 * 0.25), rel_tol=1e-6)


def test_hook_updates_teacher_of_wrapped_model():
    model = build_model()
    hook = HOOKS.build(dict(type='MeanTeacherHook', interval=2))
    runner = SimpleNamespace(model=model, iter=0)
    hook.before_train(runner)
    for i in range(4):
        runner.iter = i
        hook.after_train_iter(runner, batch_idx=i)
    assert int(model.teacher.steps) == 2
    with pytest.raises(ConfigError, match='needs a model with an EMA'):
        hook.before_train(SimpleNamespace(model=torch.nn.Linear(1, 1)))
    # a semi-supervised model without ema_momentum has no teacher either
    no_teacher = MODELS.build(
        dict(
            type='UniMatchStyleSemiSupModel',
            segmentor=dict(model_cfg()['segmentor'])))
    assert no_teacher.teacher is None
    with pytest.raises(ConfigError, match='needs a model with an EMA'):
        hook.before_train(SimpleNamespace(model=no_teacher))


@pytest.mark.parametrize('predict_on', ['student', 'teacher'])
def test_predict_on(predict_on):
    model = build_model()
    model.semi_test_cfg.predict_on = predict_on
    with torch.no_grad():
        model.teacher.module.decode_head.conv_seg.bias.add_(
            torch.tensor([5.0, 0, 0, 0]))
    model.eval()
    inputs, samples = batch(n_lab=0, n_unl=2)
    with torch.no_grad():
        out = model.predict(inputs, samples)
        net = model.teacher.module if predict_on == 'teacher' \
            else model.student
        expected = net._forward(inputs)
    assert torch.allclose(out[0].seg_logits.data, expected[0], atol=1e-5)
    assert torch.equal(out[1].pred_sem_seg.data[0], expected[1].argmax(0))
