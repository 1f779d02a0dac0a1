"""The single-stream UniMatch-style baseline (``UniMatchStyleSemiSupModel``):
its self-training terms against an
independent computation on a tiny batch (strong views, CutMix, the feature
branch), that its pseudo-labels carry no gradient, and its config errors."""
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

import ideal_mm  # noqa: F401  (before mmseg)
from ideal_mm.errors import ConfigError
from ideal_mm.models.segmentors import unsup_branches

init_default_scope('mmseg')
S = 16


@pytest.fixture(autouse=True)
def reset_iter():
    MessageHub.get_current_instance().update_info('iter', 0)
    yield


def strong_branch(n, cutmix_prob=0.0):
    return dict(
        type='StrongViewPseudoLabel',
        num_views=n,
        cutmix_prob=cutmix_prob,
        loss_name='loss_st')


def build(branches=(strong_branch(2), ), filters=(), **semi):
    cfg = dict(rampup_iters=0, max_consistency_weight=0.5, conf_threshold=0.3)
    cfg.update(semi)
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='UniMatchStyleSemiSupModel',
            data_preprocessor=plain_preprocessor(),
            segmentor=dict(
                backbone=tiny_unet_encoder(),
                decode_head=dict(
                    type='UNetDecoderHead',
                    in_channels=[4, 8, 16],
                    channels=4,
                    num_classes=4,
                    norm_cfg=BN,
                    dropout_ratio=0.0,
                    loss_decode=[
                        dict(type='CrossEntropyLoss', loss_weight=1.0)
                    ])),
            unsup_branches=list(branches),
            pseudo_label_filters=list(filters),
            semi_train_cfg=cfg))


def batch(views=3, n_lab=2, n_unl=3, oracle=False):
    torch.manual_seed(1)
    inputs = torch.randn(n_lab + n_unl, views, S, S)
    samples = []
    for i in range(n_lab + n_unl):
        s = SegDataSample(
            metainfo=dict(
                img_shape=(S, S), ori_shape=(S, S), padding_size=[0, 0, 0, 0]))
        label = PixelData(data=torch.randint(0, 4, (1, S, S)))
        if i < n_lab:
            s.gt_sem_seg = label
        elif oracle:
            s.oracle_sem_seg = label
        samples.append(s)
    return inputs, samples


def logits(model, x):
    return model.student.decode_head.forward(x)


def test_strong_views_self_training_term():
    model = build()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        z = logits(model, model.extract_feat(inputs[:, :1]))
        p = z[2:].softmax(1)
        y = p.argmax(1)
        y[p.max(1).values < 0.3] = 255
        strong = torch.cat([inputs[2:, 1:2], inputs[2:, 2:3]])
        zs = logits(model, model.extract_feat(strong))
        exp = 0.5 * F.cross_entropy(zs, torch.cat([y, y]), ignore_index=255)
        sup = F.cross_entropy(
            z[:2], torch.cat([s.gt_sem_seg.data for s in samples[:2]]))
    assert torch.allclose(losses['unsup.loss_st'], exp, atol=1e-5)
    assert torch.allclose(losses['sup.loss_ce'], sup, atol=1e-5)
    assert abs(float(losses['unsup.kept']) -
               float((y != 255).float().mean())) < 1e-6
    assert 'unsup.loss_fp' not in losses
    # the pseudo-label is a detached argmax: the term's gradient is that of
    # CE on the strong logits only (a fixed target)
    model.zero_grad()
    losses['unsup.loss_st'].backward()
    got = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad()
    zs = logits(model, model.extract_feat(strong))
    (0.5 * F.cross_entropy(zs, torch.cat([y, y]), ignore_index=255)).backward()
    want = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(got) == len(want) and all(
        torch.allclose(a, b, atol=1e-6) for a, b in zip(got, want))


def test_feature_branch_and_cutmix(monkeypatch):
    model = build([
        strong_branch(1, cutmix_prob=1.0),
        dict(type='FeaturePerturbation', p=0.5)
    ])
    model.unsup_branches[1].dropout = nn.Identity()
    box = torch.zeros(3, S, S, dtype=torch.bool)
    box[:, 3:10, 2:8] = True
    monkeypatch.setattr(unsup_branches, 'random_boxes', lambda *a, **k: box)
    inputs, samples = batch(views=2)
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        x = model.extract_feat(inputs[:, :1])
        z = logits(model, x)
        y = z[2:].softmax(1).argmax(1)
        y[z[2:].softmax(1).max(1).values < 0.3] = 255
        order = [1, 2, 0]
        strong = inputs[2:, 1:2]
        mixed = torch.where(box[:, None], strong[order], strong)
        target = torch.where(box, y[order], y)
        exp_st = 0.5 * F.cross_entropy(
            logits(model, model.extract_feat(mixed)), target, ignore_index=255)
        exp_fp = 0.5 * F.cross_entropy(
            logits(model, [f[2:] for f in x]), y, ignore_index=255)
    assert torch.allclose(losses['unsup.loss_st'], exp_st, atol=1e-5)
    assert torch.allclose(losses['unsup.loss_fp'], exp_fp, atol=1e-5)


def test_oracle_and_predict_shapes():
    model = build(filters=[dict(type='DistributionAlignment')])
    inputs, samples = batch(oracle=True)
    losses = model.loss(inputs, samples)
    assert {'oracle.pl_fg_dice', 'unsup.fg', 'sup.fg'} <= set(losses)
    model.eval()
    out = model.predict(inputs[:, :1], samples)
    assert out[0].pred_sem_seg.data.shape == (1, S, S)
    assert out[0].seg_logits.data.shape == (4, S, S)


def test_needs_a_strong_view():
    with pytest.raises(ConfigError, match='needs a strong view'):
        build([dict(type='FeaturePerturbation', p=0.5)])
    model = build([strong_branch(1)])
    with pytest.raises(ConfigError, match='WeakStrongViews'):
        model.loss(*batch(views=1))


def test_copy_paste_branch_works_with_one_stream(monkeypatch):
    """A branch is not tied to the two-stream model: BCP on UniMatch mixes
    the student's own pseudo-labels with the ground truth."""
    model = build([
        strong_branch(1),
        dict(type='BidirectionalCopyPaste', prob=1.0, ratio=0.5)
    ])
    box = torch.zeros(2, S, S, dtype=torch.bool)
    box[:, 4:12, 4:12] = True
    monkeypatch.setattr(unsup_branches, 'random_boxes', lambda *a, **k: box)
    inputs, samples = batch(views=2)
    losses = model.loss(inputs, samples)
    gt = torch.cat([s.gt_sem_seg.data for s in samples[:2]])
    with torch.no_grad():
        weak = inputs[:, :1]
        z = logits(model, model.extract_feat(weak))
        p = z[2:4].softmax(1)
        y = p.argmax(1)
        y[p.max(1).values < 0.3] = 255
        a, u = weak[:2], weak[2:4]
        mixed = torch.cat(
            [torch.where(box[:, None], u, a),
             torch.where(box[:, None], a, u)])
        target = torch.cat([torch.where(box, y, gt), torch.where(box, gt, y)])
        exp = 0.5 * F.cross_entropy(
            logits(model, model.extract_feat(mixed)), target, ignore_index=255)
    assert torch.allclose(losses['unsup.loss_bcp'], exp, atol=1e-5)
    assert 'unsup.loss_st' in losses
