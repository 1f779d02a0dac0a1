"""UniMatch as published (``UniMatchSemiSupModel``): one step's loss against an
independent computation written from LiheYoung/UniMatch,
more-scenarios/medical/unimatch.py (partner label 129-134, CutMix 136-139 and
155-162, forward 141-153, losses 164-175) and util/utils.py ``DiceLoss``
(14-50); the partner predicted in eval mode without a graph; the weights;
the config checks."""
import copy

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from semi_helpers import BN, plain_preprocessor, tiny_unet_encoder

from ideal_mm.errors import ConfigError
from ideal_mm.models.segmentors import unimatch

init_default_scope('mmseg')
S, C, THR = 16, 4, 0.3
N_LAB, N_U = 2, 2  # 2 labelled, 2 unlabelled + 2 partners


@pytest.fixture(autouse=True)
def reset_iter():
    MessageHub.get_current_instance().update_info('iter', 0)
    yield


class FixedDrop(nn.Module):
    """A fixed Dropout2d(0.5) draw: channel c of sample i dropped when
    (c + i) is even, the others scaled by 2."""

    def forward(self, x):
        c = torch.arange(x.shape[1])[None, :]
        i = torch.arange(x.shape[0])[:, None]
        keep = ((c + i) % 2 == 1).to(x.dtype)
        return x * 2.0 * keep[:, :, None, None]


def build(**semi):
    cfg = dict(conf_threshold=THR)
    cfg.update(semi)
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='UniMatchSemiSupModel',
            data_preprocessor=plain_preprocessor(),
            segmentor=dict(
                backbone=tiny_unet_encoder(),
                decode_head=dict(
                    type='UNetDecoderHead',
                    in_channels=[4, 8, 16],
                    channels=4,
                    num_classes=C,
                    norm_cfg=BN,
                    dropout_ratio=0.0,
                    loss_decode=[
                        dict(type='CrossEntropyLoss', loss_weight=0.25),
                        dict(type='ClassDiceLoss', eps=1e-5, loss_weight=0.25)
                    ])),
            semi_train_cfg=cfg))
    model.fp_dropout = FixedDrop()
    model.train()
    return model


def batch():
    torch.manual_seed(1)
    n = N_LAB + 2 * N_U
    inputs = torch.randn(n, 3, S, S)
    samples = []
    for i in range(n):
        s = SegDataSample(
            metainfo=dict(
                img_shape=(S, S), ori_shape=(S, S), padding_size=[0, 0, 0, 0]))
        if i < N_LAB:
            s.gt_sem_seg = PixelData(data=torch.randint(0, C, (1, S, S)))
        samples.append(s)
    return inputs, samples


BOX1 = torch.zeros(N_U, S, S, dtype=torch.bool)
BOX1[0, 2:10, 3:12] = True  # the second slice has no box (p = 0.5)
BOX2 = torch.zeros(N_U, S, S, dtype=torch.bool)
BOX2[0, 0:5, 0:16] = True
BOX2[1, 6:16, 4:9] = True


@pytest.fixture
def fixed_boxes(monkeypatch):
    calls = []

    def boxes(num, h, w, device=None, **kwargs):
        calls.append(dict(kwargs, num=num, h=h, w=w))
        return (BOX1, BOX2)[len(calls) - 1].clone()

    monkeypatch.setattr(unimatch, 'unimatch_cutmix_boxes', boxes)
    return calls


def official_dice(prob, target, ignore, smooth=1e-5):
    """util/utils.py DiceLoss(n_classes).forward(prob, target[:, None],
    ignore=ignore): per class, sums over the non-ignored pixels."""
    loss = 0.0
    keep = ignore != 1
    for i in range(prob.shape[1]):
        score, t = prob[:, i], (target == i).float()
        intersect = torch.sum(score[keep] * t[keep])
        y_sum = torch.sum(t[keep] * t[keep])
        z_sum = torch.sum(score[keep] * score[keep])
        loss += 1 - (2 * intersect + smooth) / (z_sum + y_sum + smooth)
    return loss / prob.shape[1]


def net(model, x, need_fp=False, drop=None):
    """model/unet.py UNet.forward: the decoder on [feat; drop(feat)]."""
    feats = model.student.extract_feat(x)
    head = model.student.decode_head
    if need_fp:
        return head.forward([torch.cat((f, drop(f))) for f in feats]).chunk(2)
    return head.forward(feats)


def official_step(model, inputs, samples, partner_eval=True):
    """unimatch.py 125-175 on a copy of the model: the total loss and the
    three unlabelled terms (before the final / 2 and the 0.25 / 0.5)."""
    model = copy.deepcopy(model)
    w, s1, s2 = inputs[:, :1], inputs[:, 1:2], inputs[:, 2:3]
    lab = slice(0, N_LAB)
    u = slice(N_LAB, N_LAB + N_U)
    mix = slice(N_LAB + N_U, N_LAB + 2 * N_U)
    img_x = w[lab]
    mask_x = torch.cat([s.gt_sem_seg.data for s in samples[:N_LAB]])
    with torch.no_grad():  # 129-134
        model.eval() if partner_eval else model.train()
        pred_u_w_mix = net(model, w[mix]).detach()
        conf_u_w_mix = pred_u_w_mix.softmax(dim=1).max(dim=1)[0]
        mask_u_w_mix = pred_u_w_mix.argmax(dim=1)
    img_u_s1, img_u_s2 = s1[u].clone(), s2[u].clone()  # 136-139
    img_u_s1[BOX1.unsqueeze(1).expand(img_u_s1.shape)] = \
        s1[mix][BOX1.unsqueeze(1).expand(img_u_s1.shape)]
    img_u_s2[BOX2.unsqueeze(1).expand(img_u_s2.shape)] = \
        s2[mix][BOX2.unsqueeze(1).expand(img_u_s2.shape)]
    model.train()  # 141-149
    preds, preds_fp = net(model, torch.cat((img_x, w[u])), True,
                          model.fp_dropout)
    pred_x, pred_u_w = preds.split([N_LAB, N_U])
    pred_u_w_fp = preds_fp[N_LAB:]
    pred_u_s1, pred_u_s2 = net(model, torch.cat((img_u_s1, img_u_s2))).chunk(2)
    pred_u_w = pred_u_w.detach()  # 151-153
    conf_u_w = pred_u_w.softmax(dim=1).max(dim=1)[0]
    mask_u_w = pred_u_w.argmax(dim=1)
    mask1, conf1 = mask_u_w.clone(), conf_u_w.clone()  # 155-162
    mask2, conf2 = mask_u_w.clone(), conf_u_w.clone()
    mask1[BOX1] = mask_u_w_mix[BOX1]
    conf1[BOX1] = conf_u_w_mix[BOX1]
    mask2[BOX2] = mask_u_w_mix[BOX2]
    conf2[BOX2] = conf_u_w_mix[BOX2]
    zeros = torch.zeros_like(mask_x, dtype=torch.float)
    loss_x = (F.cross_entropy(pred_x, mask_x) + official_dice(
        pred_x.softmax(dim=1), mask_x, zeros)) / 2.0  # 164-175
    loss_u_s1 = official_dice(
        pred_u_s1.softmax(dim=1), mask1, (conf1 < THR).float())
    loss_u_s2 = official_dice(
        pred_u_s2.softmax(dim=1), mask2, (conf2 < THR).float())
    loss_u_w_fp = official_dice(
        pred_u_w_fp.softmax(dim=1), mask_u_w, (conf_u_w < THR).float())
    loss = (loss_x + loss_u_s1 * 0.25 + loss_u_s2 * 0.25 +
            loss_u_w_fp * 0.5) / 2.0
    kept = (conf_u_w >= THR).float().mean()
    return loss, (loss_u_s1, loss_u_s2, loss_u_w_fp), kept


def total(losses):
    return sum(v for k, v in losses.items() if 'loss' in k)


def test_one_step_equals_the_official_computation(fixed_boxes):
    model = build()
    inputs, samples = batch()
    ref, (l1, l2, lfp), kept = official_step(model, inputs, samples)
    losses = model.loss(inputs, samples)
    assert 0.0 < float(kept) < 1.0  # some pixels ignored, some kept
    assert torch.allclose(total(losses), ref, rtol=1e-5, atol=1e-6)
    # each unlabelled term with its halved weight, no ramp (w = 1)
    for key, raw, wt in (('s1', l1, 0.125), ('s2', l2, 0.125), ('fp', lfp,
                                                                0.25)):
        assert torch.allclose(
            losses[f'unsup.loss_{key}'], wt * raw, rtol=1e-5, atol=1e-7)
    assert torch.allclose(losses['unsup.kept'], kept)
    assert float(losses['unsup.weight']) == 1.0
    # one box per strong view of each u slice, UniMatch's sampler settings
    assert [c['num'] for c in fixed_boxes] == [N_U, N_U]
    assert fixed_boxes[0]['area_range'] == (0.02, 0.4)
    assert fixed_boxes[0]['aspect_range'] == pytest.approx((0.3, 1 / 0.3))
    assert fixed_boxes[0]['p'] == 0.5


def test_partner_label_is_the_eval_mode_prediction(fixed_boxes):
    """A BN net: its eval logits differ from its train logits, and only the
    eval-mode partner label reproduces the step."""
    model = build()
    inputs, samples = batch()
    w_mix = inputs[N_LAB + N_U:, :1]
    with torch.no_grad():
        train_z = net(copy.deepcopy(model).train(), w_mix)
        eval_z = net(copy.deepcopy(model).eval(), w_mix)
    assert not torch.allclose(train_z, eval_z, atol=1e-3)
    ref_train, _, _ = official_step(model, inputs, samples, partner_eval=False)
    fixed_boxes.clear()
    ref_eval, _, _ = official_step(model, inputs, samples)
    assert not torch.allclose(ref_train, ref_eval, atol=1e-5)
    fixed_boxes.clear()
    seen = []
    extract = model.student.extract_feat

    def spy(x):
        seen.append((model.student.training, torch.is_grad_enabled()))
        return extract(x)

    model.student.extract_feat = spy
    losses = model.loss(inputs, samples)
    assert torch.allclose(total(losses), ref_eval, rtol=1e-5, atol=1e-6)
    # partner: eval mode without a graph; then train mode with one
    assert seen[0] == (False, False)
    assert seen[1:] == [(True, True), (True, True)]
    assert model.student.training


def test_no_gradient_through_pseudo_labels(fixed_boxes):
    """The fp term's gradient equals that of the same Dice against the
    weak view's detached argmax: the labels are constants."""
    model = build(loss_weights=dict(s1=0.0, s2=0.0, fp=1.0))
    inputs, samples = batch()
    ref_model = copy.deepcopy(model)
    losses = model.loss(inputs, samples)
    losses['unsup.loss_fp'].backward()
    grads = [
        p.grad.clone() if p.grad is not None else torch.zeros_like(p)
        for p in model.student.parameters()
    ]
    # reference: labels computed under no_grad, so they cannot carry one
    _ = ref_model.predict_partners(inputs[N_LAB + N_U:, :1])
    ref_model.train()
    x = inputs[:N_LAB + N_U, :1]
    z, z_fp = net(ref_model, x, True, ref_model.fp_dropout)
    with torch.no_grad():
        conf, y = z[N_LAB:].softmax(1).max(1)
    ignore = (conf < THR).float()
    official_dice(z_fp[N_LAB:].softmax(1), y, ignore).backward()
    for g, p in zip(grads, ref_model.student.parameters()):
        ref = p.grad if p.grad is not None else torch.zeros_like(p)
        assert torch.allclose(g, ref, rtol=1e-4, atol=1e-7)
    assert any(g.abs().sum() > 0 for g in grads)


def test_weight_and_ramp_scale_only_the_unlabelled_terms(fixed_boxes):
    inputs, samples = batch()
    base = build().loss(inputs, samples)
    fixed_boxes.clear()
    half = build(max_consistency_weight=0.5).loss(inputs, samples)
    for key in ('sup.loss_ce', 'sup.loss_dice'):
        assert torch.allclose(half[key], base[key])
    for key in ('s1', 's2', 'fp'):
        assert torch.allclose(half[f'unsup.loss_{key}'],
                              0.5 * base[f'unsup.loss_{key}'])


def test_a_batch_without_partners_trains_the_labelled_loss_only():
    model = build()
    inputs, samples = batch()
    losses = model.loss(inputs[:N_LAB + 1], samples[:N_LAB + 1])
    assert not any(k.startswith('unsup.loss') for k in losses)
    assert total(losses) > 0


@pytest.mark.parametrize('semi, match', [
    (dict(unsup_on='all'), 'pasted into themselves'),
    (dict(conf_threshold=1.0), 'conf_threshold'),
    (dict(loss_weights=dict(s1=0.1)), 'loss_weights'),
    (dict(cutmix=dict(prob=0.5)), 'cutmix'),
    (dict(fp_dropout=1.0), 'fp_dropout'),
])
def test_bad_options_are_refused(semi, match):
    with pytest.raises(ConfigError, match=match):
        build(**semi)


def test_inputs_without_strong_views_are_refused():
    model = build()
    inputs, samples = batch()
    with pytest.raises(ConfigError, match='UniMatchStrongViews'):
        model.loss(inputs[:, :2], samples)
