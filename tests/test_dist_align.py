"""The pseudo-label collapse guards: distribution alignment (buffers, the
aligned probabilities and the pseudo-labels BiConsistencySemiSupModel takes
from them) and ClassDiceLoss(present_only=True), each against an independent
computation."""
import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from test_semi_options import batch, build_model, heads_of

from ideal_mm.errors import ConfigError
from ideal_mm.models.losses import ClassDiceLoss
from ideal_mm.models.segmentors.dist_align import DistributionAlignment

init_default_scope('mmseg')


@pytest.fixture(autouse=True)
def reset_iter():
    MessageHub.get_current_instance().update_info('iter', 0)
    yield


def np_dice(prob, target, ignore, classes):
    """Per-class soft Dice in numpy, masked by ``target != ignore``."""
    m = (target != ignore)[:, None].astype(np.float64)
    g = np.stack([(target == c) for c in range(prob.shape[1])], 1) * m
    out = []
    for c in classes:
        inter = (prob[:, c] * g[:, c] * m[:, 0]).sum()
        den = (prob[:, c]**2 * m[:, 0]).sum() + g[:, c].sum()
        out.append((2 * inter + 1e-5) / (den + 1e-5))
    return np.array(out)


def test_class_dice_present_only_matches_numpy():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 8, 8, requires_grad=True)
    target = torch.randint(0, 2, (2, 8, 8))  # classes 2 and 3 absent
    target[0, :2] = 255
    target[1, 5, 5] = 3
    target[1, 5, 6] = 255
    prob = logits.detach().softmax(1).double().numpy()
    t = target.numpy()
    full = ClassDiceLoss()(logits, target)
    present = ClassDiceLoss(present_only=True)(logits, target)
    assert abs(float(full) - (1 - np_dice(prob, t, 255, range(4)).mean())) \
        < 1e-5
    assert abs(float(present) -
               (1 - np_dice(prob, t, 255, [0, 1, 3]).mean())) < 1e-5
    sub = ClassDiceLoss(present_only=True, classes=[1, 2, 3])(logits, target)
    assert abs(float(sub) - (1 - np_dice(prob, t, 255, [1, 3]).mean())) < 1e-5
    # an absent class gets no gradient from the present-only loss
    g, = torch.autograd.grad(
        ClassDiceLoss(present_only=True, classes=[2])(logits, target) +
        0 * logits.sum(), logits)
    assert float(g.abs().sum()) == 0
    # all pixels ignored: zero loss, still in the graph
    empty = ClassDiceLoss(present_only=True)(logits,
                                             torch.full_like(target, 255))
    assert float(empty) == 0 and empty.requires_grad


def test_distribution_alignment_buffers_and_align():
    da = DistributionAlignment(3, num_streams=2, momentum=0.5)
    labels = torch.tensor([[[0, 0, 1, 2], [0, 255, 1, 1]]])
    da.update_prior(labels, 255)
    share = np.array([3, 3, 1]) / 7
    np.testing.assert_allclose(
        da.prior.numpy(), 0.5 / 3 + 0.5 * share, rtol=1e-6)
    torch.manual_seed(0)
    prob = torch.randn(2, 3, 4, 4).softmax(1)
    valid = torch.ones(2, 4, 4, dtype=torch.bool)
    valid[0, 0] = False
    da.update_marginal(1, prob, valid)
    mean = prob.permute(0, 2, 3, 1)[valid].mean(0).numpy()
    np.testing.assert_allclose(
        da.marginal[1].numpy(), 0.5 / 3 + 0.5 * mean, rtol=1e-5)
    np.testing.assert_allclose(da.marginal[0].numpy(), np.full(3, 1 / 3))
    aligned = da.align(1, prob).numpy()
    ratio = da.prior.numpy() / da.marginal[1].numpy()
    expect = prob.numpy() * ratio[None, :, None, None]
    expect /= expect.sum(1, keepdims=True)
    np.testing.assert_allclose(aligned, expect, rtol=1e-5)
    # no pixel anywhere: buffers unchanged
    before = da.prior.clone()
    da.update_prior(torch.full((1, 2, 2), 255), 255)
    assert torch.equal(before, da.prior)


def test_alignment_lifts_a_background_collapse():
    """A stream that calls everything background at p = 0.8, while the
    labelled pixels are half foreground, gets foreground pseudo-labels back
    once the marginal has been seen."""
    da = DistributionAlignment(2, num_streams=1, momentum=0.0)
    da.update_prior(torch.tensor([[[0, 1], [0, 1]]]), 255)
    prob = torch.zeros(1, 2, 2, 2)
    prob[:, 0] = torch.tensor([[0.9, 0.9], [0.7, 0.7]])
    prob[:, 1] = 1 - prob[:, 0]
    assert int(prob.argmax(1).sum()) == 0
    da.update_marginal(0, prob)
    # marginal (0.8, 0.2) -> ratio (0.625, 2.5): the 0.7 pixels become fg
    assert prob.argmax(1).tolist() == [[[0, 0], [0, 0]]]
    assert da.align(0, prob).argmax(1).tolist() == [[[0, 0], [1, 1]]]


def test_bi_consistency_pseudo_labels_from_aligned_probabilities():
    model = build_model(
        conf_threshold=0.3,
        filters=[dict(type='DistributionAlignment', momentum=0.0)])
    inputs, samples = batch(views=1)
    losses = model.loss(inputs, samples)
    gt = torch.cat([s.gt_sem_seg.data for s in samples[:2]])
    with torch.no_grad():
        z1, z2 = heads_of(model, model.extract_feat(inputs))
        prior = torch.bincount(gt.flatten(), minlength=4).float()
        prior /= prior.sum()

        def aligned_labels(z):
            p = z[2:].softmax(1)
            q = p * (prior / p.permute(0, 2, 3, 1).reshape(
                -1, 4).mean(0)).view(1, 4, 1, 1)
            q = q / q.sum(1, keepdim=True)
            y = q.argmax(1)
            y[q.max(1).values < 0.3] = 255
            return y

        y1, y2 = aligned_labels(z1), aligned_labels(z2)
        exp2 = 0.5 * F.cross_entropy(z2[2:], y1, ignore_index=255)
        exp1 = 0.5 * F.cross_entropy(z1[2:], y2, ignore_index=255)
    assert torch.allclose(losses['unsup.s2.loss_cps'], exp2, atol=1e-5)
    assert torch.allclose(losses['unsup.s1.loss_cps'], exp1, atol=1e-5)
    fg = float(((y1 != 255) & (y1 > 0)).float().mean())
    assert abs(float(losses['unsup.s2.fg']) - fg) < 1e-6
    assert abs(float(losses['sup.fg']) - float((gt > 0).float().mean())) \
        < 1e-6
    # the buffers are the batch statistics (momentum 0) and are saved
    assert torch.allclose(model.pseudo_label_filters[0].prior, prior)
    assert 'pseudo_label_filters.0.marginal' in model.state_dict()
    # diagnostics are logged, not summed
    total, _ = model.parse_losses(losses)
    assert torch.allclose(total,
                          sum(v for k, v in losses.items() if 'loss' in k))


@pytest.mark.parametrize('bad,match', [
    (dict(type='DistributionAlignment'), 'must be a list'),
    ([dict(type='DistributionAlignment', momentum=1.0)
      ], r'DistributionAlignment.momentum must be in \[0, 1\)'),
    ([dict(type='ClassDiceLoss')], 'not a pseudo-label filter'),
])
def test_filter_config_errors_name_the_key(bad, match):
    with pytest.raises(ConfigError, match=match):
        build_model(filters=bad)


def test_dist_align_filter_default_momentum_and_shape():
    model = build_model(filters=[dict(type='DistributionAlignment')])
    (da, ) = model.pseudo_label_filters
    assert da.momentum == 0.99
    assert da.marginal.shape == (2, 4)  # two streams, four classes
    assert len(build_model().pseudo_label_filters) == 0
    assert MODELS.get('ClassDiceLoss') is ClassDiceLoss


def test_class_thresholds_keep_a_portion_of_every_class():
    from ideal_mm.models.segmentors.pseudo_labelling import (class_thresholds,
                                                             pseudo_labels)
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 6, 6) * 3
    logits[:, 0] += 2.0  # class 0 dominant, confident
    valid = torch.ones(2, 6, 6, dtype=torch.bool)
    valid[1, :, :2] = False
    prob = logits.softmax(1)
    conf, lab = prob.max(1)
    thr = class_thresholds(conf, lab, valid, 0.9, 0.5, 3)
    for c in range(3):
        vals = np.sort(conf[valid & (lab == c)].numpy())[::-1]
        k = int(np.ceil(0.5 * len(vals)))
        assert float(thr[c]) == pytest.approx(min(0.9, vals[k - 1]))
    labels, kept = pseudo_labels(logits, 0.9, 255, valid, class_portion=0.5)
    expect = valid & (conf >= thr[lab])
    assert torch.equal(kept, expect)
    assert torch.equal(labels[kept], lab[kept])
    assert (labels[~kept] == 255).all()
    # every predicted class keeps at least half of its valid pixels
    for c in range(3):
        n = int((valid & (lab == c)).sum())
        assert int((kept & (lab == c)).sum()) >= np.ceil(0.5 * n)
    # a plain threshold keeps fewer of the rare classes
    _, plain = pseudo_labels(logits, 0.9, 255, valid)
    assert int(plain.sum()) < int(kept.sum())


def test_class_balanced_threshold_needs_a_threshold():
    cbst = dict(type='ClassBalancedThreshold', portion=0.5)
    with pytest.raises(ConfigError, match='set model.semi_train_cfg.conf_'):
        build_model(filters=[cbst])
    with pytest.raises(ConfigError, match=r'portion must be in \(0, 1\]'):
        build_model(conf_threshold=0.9, filters=[dict(cbst, portion=0.0)])
    model = build_model(conf_threshold=0.9, filters=[cbst])
    assert model.pseudo_label_filters[0].class_portion == 0.5
