"""DenseContrastiveLoss / GlobalContrastiveLoss values and the projection
heads."""
import math

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

init_default_scope('mmseg')


def identity_corr(b, h, w):
    """Normalised coords of every cell centre of an (h, w) grid
    (align_corners=False)."""
    ys = (torch.arange(h) + 0.5) / h * 2 - 1
    xs = (torch.arange(w) + 0.5) / w * 2 - 1
    gy, gx = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([gx, gy], -1).expand(b, h, w, 2).clone()


def orthogonal_embeddings(b, c, h, w):
    """Every pixel of the batch gets a distinct one-hot embedding."""
    n = b * h * w
    assert c >= n
    emb = torch.eye(c)[:n]  # (n, c)
    return emb.reshape(b, h, w, c).permute(0, 3, 1, 2).contiguous()


def test_identical_views_orthogonal_embeddings_give_near_zero_infonce():
    b, h, w, c = 2, 4, 4, 32
    q = orthogonal_embeddings(b, c, h, w)
    loss = MODELS.build(
        dict(type='DenseContrastiveLoss', tau=0.1, num_samples=256))
    parts = loss(
        q,
        q.clone(),
        identity_corr(b, h, w),
        torch.ones(b, h, w, dtype=torch.bool),
        return_components=True)
    n = b * h * w
    assert parts['num_pairs'].item() == n
    # exact value: -log(e^10 / (e^10 + (n - 1) e^0))
    expected = math.log(1 + (n - 1) * math.exp(-10))
    assert parts['nce'].item() == pytest.approx(expected, rel=1e-4)
    assert parts['nce'].item() < 2e-3
    assert parts['pos'].item() == pytest.approx(0.0, abs=1e-6)
    assert parts['neg'].item() == pytest.approx(0.0, abs=1e-6)


def test_random_embeddings_give_log_number_of_candidates():
    torch.manual_seed(0)
    b, h, w, c = 4, 8, 8, 4096
    q = F.normalize(torch.randn(b, c, h, w), dim=1)
    k = F.normalize(torch.randn(b, c, h, w), dim=1)
    loss = MODELS.build(
        dict(
            type='DenseContrastiveLoss',
            tau=0.1,
            num_samples=32,
            infonce_weight=1.0))
    parts = loss(
        q,
        k,
        identity_corr(b, h, w),
        torch.ones(b, h, w, dtype=torch.bool),
        return_components=True)
    n = b * 32  # num_samples per image caps the candidates
    assert parts['num_pairs'].item() == n
    # logits have std 1 / (tau sqrt(C)) ~ 0.16, so E[L] ~ log n + var / 2
    assert parts['nce'].item() == pytest.approx(math.log(n), abs=0.08)


def test_metric_term_formula_and_margin():
    # 3 locations in one 1x3 image, 2-d embeddings at chosen angles
    angles_q = torch.tensor([0.0, 1.6, 3.2])
    angles_k = angles_q + torch.tensor([0.1, -0.2, 0.3])

    def emb(a):
        return torch.stack([a.cos(), a.sin()]).reshape(1, 2, 1, 3)

    q, k = emb(angles_q), emb(angles_k)
    corr, valid = identity_corr(1, 1, 3), torch.ones(1, 1, 3, dtype=torch.bool)
    sim = torch.cos(angles_q[:, None] - angles_k[None, :])
    assert sim[~torch.eye(3, dtype=torch.bool)].max() < 0.5
    loss = MODELS.build(dict(type='DenseContrastiveLoss', margin=0.5))
    parts = loss(q, k, corr, valid, return_components=True)
    assert parts['neg'].item() == 0.0  # negatives already below the margin
    assert parts['pos'].item() == pytest.approx(
        (1 - sim.diagonal()).mean().item(), abs=1e-6)
    # with a margin below some negatives the hinge equals an independent sum
    low = MODELS.build(
        dict(
            type='DenseContrastiveLoss',
            margin=-0.6,
            tau=0.5,
            infonce_weight=0.3,
            metric_weight=2.0,
            loss_weight=1.5,
            symmetric=False))
    parts = low(q, k, corr, valid, return_components=True)
    off = sim[~torch.eye(3, dtype=torch.bool)]
    neg = (off + 0.6).clamp(min=0).mean()
    nce = F.cross_entropy(sim / 0.5, torch.arange(3))
    assert parts['neg'].item() == pytest.approx(neg.item(), abs=1e-6)
    assert parts['nce'].item() == pytest.approx(nce.item(), abs=1e-5)
    total = 1.5 * (0.3 * nce + 2.0 * ((1 - sim.diagonal()).mean() + neg))
    assert parts['loss'].item() == pytest.approx(total.item(), abs=1e-5)


def test_invalid_locations_never_contribute_and_empty_batch_is_zero_with_grad(
):
    torch.manual_seed(1)
    b, c, h, w = 2, 16, 4, 4
    q = F.normalize(torch.randn(b, c, h, w), dim=1).requires_grad_()
    k = F.normalize(torch.randn(b, c, h, w), dim=1)
    corr = identity_corr(b, h, w)
    loss = MODELS.build(dict(type='DenseContrastiveLoss'))
    valid = torch.zeros(b, h, w, dtype=torch.bool)
    zero = loss(q, k, corr, valid)
    assert zero.item() == 0.0 and zero.grad_fn is not None
    zero.backward()
    assert torch.count_nonzero(q.grad) == 0
    # only cell (0, 0, 0) and (1, 3, 3) valid: garbage elsewhere changes
    # nothing
    valid[0, 0, 0] = valid[1, 3, 3] = True
    ref = loss(q, k, corr, valid)
    q2, k2 = q.detach().clone(), k.clone()
    q2[:, :, 1:3] = F.normalize(torch.randn(b, c, 2, w), dim=1)
    k2[:, :, 1:3] = F.normalize(torch.randn(b, c, 2, w), dim=1)
    assert loss(q2, k2, corr, valid).item() == pytest.approx(
        ref.item(), abs=1e-6)


@pytest.mark.parametrize('same_image, min_dist', [(False, 0.0), (True, 0.3)])
def test_restricted_negatives_match_a_loop_over_pairs(same_image, min_dist):
    torch.manual_seed(3)
    b, c, h, w = 2, 8, 3, 4
    q = F.normalize(torch.randn(b, c, h, w), dim=1)
    k = F.normalize(torch.randn(b, c, h, w), dim=1)
    loss = MODELS.build(
        dict(
            type='DenseContrastiveLoss',
            tau=0.2,
            margin=0.1,
            num_samples=64,
            same_image_negatives=same_image,
            neg_min_dist=min_dist))
    parts = loss(
        q,
        k,
        identity_corr(b, h, w),
        torch.ones(b, h, w, dtype=torch.bool),
        return_components=True)
    # independent computation: rows in (image, y, x) order (all cells sampled,
    # the loss is invariant to the row order)
    rows = [(i, y, x) for i in range(b) for y in range(h) for x in range(w)]

    def is_neg(a, bb):
        if a == bb:
            return False
        if rows[a][0] != rows[bb][0]:
            return True
        if not same_image:
            return False
        dy = (rows[a][1] - rows[bb][1]) / h
        dx = (rows[a][2] - rows[bb][2]) / w
        return math.hypot(dx, dy) >= min_dist

    def s(a, bb):
        return float(q[rows[a][0], :, rows[a][1], rows[a][2]]
                     @ k[rows[bb][0], :, rows[bb][1], rows[bb][2]])

    n = len(rows)
    nce_qk = nce_kq = hinge = 0.0
    num_neg = 0
    for a in range(n):
        negs = [j for j in range(n) if is_neg(a, j)]
        pos = math.exp(s(a, a) / 0.2)
        nce_qk -= math.log(pos /
                           (pos + sum(math.exp(s(a, j) / 0.2) for j in negs)))
        nce_kq -= math.log(pos /
                           (pos + sum(math.exp(s(j, a) / 0.2) for j in negs)))
        hinge += sum(max(0.0, s(a, j) - 0.1) for j in negs)
        num_neg += len(negs)
    assert 0 < num_neg < n * (n - 1)  # some same-image pairs were dropped
    assert parts['nce'].item() == pytest.approx(
        0.5 * (nce_qk + nce_kq) / n, abs=1e-5)
    assert parts['neg'].item() == pytest.approx(hinge / num_neg, abs=1e-6)


def test_negative_options_are_checked():
    from ideal_mm.errors import ConfigError
    with pytest.raises(ConfigError, match='neg_min_dist'):
        MODELS.build(dict(type='DenseContrastiveLoss', neg_min_dist=-0.1))


def test_global_contrastive_loss_matches_cross_entropy():
    torch.manual_seed(2)
    q = F.normalize(torch.randn(5, 8), dim=1)
    k = F.normalize(torch.randn(5, 8), dim=1)
    loss = MODELS.build(dict(type='GlobalContrastiveLoss', tau=0.2))
    logits = q @ k.t() / 0.2
    t = torch.arange(5)
    expected = 0.5 * (
        F.cross_entropy(logits, t) + F.cross_entropy(logits.t(), t))
    assert loss(q, k).item() == pytest.approx(expected.item(), abs=1e-6)
    assert loss.loss_name == 'loss_global'


def test_dense_proj_head_levels_fusion_and_normalisation():
    feats = [
        torch.randn(2, 8, 16, 16),
        torch.randn(2, 16, 8, 8),
        torch.randn(2, 32, 4, 4)
    ]
    head = MODELS.build(
        dict(type='DenseConvProjHead', in_channels=32, channels=12))
    out = head(feats)
    assert out.shape == (2, 12, 4, 4)
    assert torch.allclose(out.norm(dim=1), torch.ones(2, 4, 4), atol=1e-5)
    fused = MODELS.build(
        dict(
            type='DenseConvProjHead',
            in_channels=48,
            in_index=[1, 2],
            channels=12,
            hidden_channels=20))
    out = fused(feats)
    assert out.shape == (2, 12, 8, 8)  # finest chosen level
    assert fused.proj[0].in_channels == 48 and fused.proj[0].out_channels == 20
    wrong = MODELS.build(dict(type='DenseConvProjHead', in_channels=30))
    with pytest.raises(ideal_mm.errors.ConfigError, match='in_channels'):
        wrong(feats)
    glob = MODELS.build(
        dict(type='GlobalProjHead', in_channels=32, channels=6))
    g = glob(feats)
    assert g.shape == (2, 6)
    assert torch.allclose(g.norm(dim=1), torch.ones(2), atol=1e-5)
