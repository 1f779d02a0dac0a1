"""The comparators' computations against re-computations of the official code.

Each reference below is written here from the formula in the cited file and
function of the official repository (NumPy loops, no shared code with
ideal_mm), on tiny tensors.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance
from scipy import ndimage

from ideal_mm.datasets.transforms.unimatch_strong import (UniMatchStrongAug,
                                                          UniMatchStrongViews,
                                                          gray_color_jitter)
from ideal_mm.errors import ConfigError
from ideal_mm.models.losses import ClassDiceLoss
from ideal_mm.models.losses.comparator_losses import (
    BCPMixedLoss, LocalContrastiveLoss, MutualConsistencyLoss, bcp_box_mask,
    largest_component_per_class, local_region_layout, sharpen,
    unimatch_cutmix_box, unimatch_cutmix_boxes)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------- BCP
def _bcp_dice(prob, label, mask, num_classes, smooth=1e-10):
    """BCP code/utils/losses.py DiceLoss.forward with a mask."""
    total = 0.0
    for c in range(num_classes):
        g = (label == c).astype(np.float64)
        inter = np.sum(prob[:, c] * g * mask)
        y_sum = np.sum(g * g * mask)
        z_sum = np.sum(prob[:, c] * prob[:, c] * mask)
        total += 1 - (2 * inter + smooth) / (z_sum + y_sum + smooth)
    return total / num_classes


def _bcp_mix_loss(logits, img_l, patch_l, mask, u_weight, unlab):
    """BCP code/ACDC_BCP_train.py mix_loss (l_weight = 1)."""
    prob = _softmax(logits)
    image_w, patch_w = (u_weight, 1.0) if unlab else (1.0, u_weight)
    patch_mask = 1 - mask
    n_cls = logits.shape[1]
    dice = _bcp_dice(prob, img_l, mask, n_cls) * image_w
    dice += _bcp_dice(prob, patch_l, patch_mask, n_cls) * patch_w
    logp = np.log(prob)

    def ce_map(lab):
        return -np.take_along_axis(logp, lab[:, None], axis=1)[:, 0]

    ce = image_w * (ce_map(img_l) * mask).sum() / (mask.sum() + 1e-16)
    ce += patch_w * (ce_map(patch_l) * patch_mask).sum() / (
        patch_mask.sum() + 1e-16)
    return dice, ce


def test_bcp_mixed_loss_equals_official_self_training_step():
    """BCP code/ACDC_BCP_train.py self_train: loss = (unl_dice + l_dice +
    unl_ce + l_ce) / 2 over the two mixed batches, u_weight 0.5."""
    rng = np.random.default_rng(0)
    n, c, h, w = 2, 4, 9, 7
    out_unl = rng.normal(size=(n, c, h, w))
    out_l = rng.normal(size=(n, c, h, w))
    lab_a, lab_b = rng.integers(0, c, (2, n, h, w))
    plab_a, plab_b = rng.integers(0, c, (2, n, h, w))
    box = np.zeros((h, w), bool)
    box[2:8, 1:5] = True
    loss_mask = np.broadcast_to(~box, (n, h, w)).astype(np.float64)
    # official: net_input_unl = uimg_a * img_mask + img_a * (1 - img_mask)
    unl_d, unl_c = _bcp_mix_loss(
        out_unl, plab_a, lab_a, loss_mask, 0.5, unlab=True)
    l_d, l_c = _bcp_mix_loss(out_l, lab_b, plab_b, loss_mask, 0.5, unlab=False)
    expected = (unl_d + l_d + unl_c + l_c) / 2

    loss = BCPMixedLoss(u_weight=0.5)
    box_t = torch.from_numpy(box)
    mixed_unl = np.where(box, lab_a, plab_a)  # labelled slice in the box
    mixed_l = np.where(box, plab_b, lab_b)  # pseudo-labelled in the box
    got = loss(torch.from_numpy(out_unl).float(),
               torch.from_numpy(mixed_unl), box_t, pseudo_in_box=False) + \
        loss(torch.from_numpy(out_l).float(), torch.from_numpy(mixed_l),
             box_t, pseudo_in_box=True)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    dice, ce = loss.components(
        torch.from_numpy(out_unl).float(), torch.from_numpy(mixed_unl), box_t,
        False)
    assert dice.item() == pytest.approx(unl_d, rel=1e-5)
    assert ce.item() == pytest.approx(unl_c, rel=1e-5)


def test_bcp_mixed_loss_labelled_phase_and_gradient():
    """BCP code/ACDC_BCP_train.py pre_train: mix_loss(..., u_weight=1.0,
    unlab=True), loss = (dice + ce) / 2; gradient reaches the logits only."""
    rng = np.random.default_rng(1)
    n, c, h, w = 3, 3, 6, 6
    logits = rng.normal(size=(n, c, h, w))
    lab_a, lab_b = rng.integers(0, c, (2, n, h, w))
    box = torch.from_numpy(np.pad(np.ones((4, 4), bool), 1))
    mask = np.broadcast_to(~box.numpy(), (n, h, w)).astype(np.float64)
    d, ce = _bcp_mix_loss(logits, lab_a, lab_b, mask, 1.0, unlab=True)
    pred = torch.tensor(logits, dtype=torch.float32, requires_grad=True)
    mixed = torch.from_numpy(np.where(box.numpy(), lab_b, lab_a))
    got = BCPMixedLoss(u_weight=1.0)(pred, mixed, box)
    assert got.item() == pytest.approx((d + ce) / 2, rel=1e-5)
    got.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    # a box given per slice (N, H, W) gives the same as one (H, W) box
    per_slice = BCPMixedLoss(u_weight=1.0)(pred, mixed, box.expand(n, h, w))
    assert per_slice.item() == pytest.approx(got.item(), rel=1e-6)


def test_bcp_mixed_loss_bad_input():
    """Shapes and settings that cannot work raise clear errors."""
    loss = BCPMixedLoss()
    with pytest.raises(ValueError, match='target'):
        loss(
            torch.zeros(1, 2, 4, 4),
            torch.zeros(1, 5, 4).long(), torch.zeros(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match='box'):
        loss(
            torch.zeros(1, 2, 4, 4),
            torch.zeros(1, 4, 4).long(), torch.zeros(3, 4, dtype=torch.bool))
    with pytest.raises(ConfigError, match='u_weight'):
        BCPMixedLoss(u_weight=-1)
    with pytest.raises(ConfigError, match='loss_'):
        BCPMixedLoss(loss_name='bcp')


def _components_bfs(mask: np.ndarray, eight: bool):
    """Connected components by breadth-first search, raster-order labels."""
    h, w = mask.shape
    comp = np.zeros((h, w), int)
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if eight:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    count = 0
    for y in range(h):
        for x in range(w):
            if mask[y, x] and comp[y, x] == 0:
                count += 1
                comp[y, x] = count
                queue = deque([(y, x)])
                while queue:
                    cy, cx = queue.popleft()
                    for dy, dx in steps:
                        ny, nx = cy + dy, cx + dx
                        if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] \
                                and comp[ny, nx] == 0:
                            comp[ny, nx] = count
                            queue.append((ny, nx))
    return comp, count


def _lcc_reference(labels: np.ndarray, num_classes: int, eight=True):
    """BCP code/ACDC_BCP_train.py get_ACDC_2DLargestCC (skimage.label is
    8-connected in 2D; np.argmax picks the first largest)."""
    out = np.zeros_like(labels)
    for n in range(labels.shape[0]):
        for c in range(1, num_classes):
            comp, count = _components_bfs(labels[n] == c, eight)
            if count == 0:
                continue
            sizes = [(comp == k).sum() for k in range(1, count + 1)]
            out[n][comp == int(np.argmax(sizes)) + 1] = c
    return out


def test_largest_component_per_class_matches_reference():
    """BCP get_ACDC_2DLargestCC, on random label maps and a diagonal case."""
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, (3, 12, 10))
    labels[2] = 0  # a slice without foreground stays empty
    got = largest_component_per_class(torch.from_numpy(labels), 4)
    assert got.dtype == torch.long and got.shape == labels.shape
    np.testing.assert_array_equal(got.numpy(), _lcc_reference(labels, 4))
    four = largest_component_per_class(
        torch.from_numpy(labels), 4, connectivity=1)
    np.testing.assert_array_equal(four.numpy(),
                                  _lcc_reference(labels, 4, eight=False))
    diag = torch.tensor([[[1, 0, 0], [0, 1, 0], [0, 0, 2]]])
    # 8-connected: the diagonal pixels of class 1 are one component
    assert largest_component_per_class(diag, 3).tolist() == diag.tolist()
    assert largest_component_per_class(diag, 3, connectivity=1).tolist() == \
        [[[1, 0, 0], [0, 0, 0], [0, 0, 2]]]


def test_largest_component_per_class_bad_input():
    """Wrong shapes, dtypes, values and connectivity are refused."""
    with pytest.raises(ValueError, match=r'\(N, H, W\)'):
        largest_component_per_class(torch.zeros(3, 3).long(), 2)
    with pytest.raises(ValueError, match='integer'):
        largest_component_per_class(torch.zeros(1, 3, 3), 2)
    with pytest.raises(ValueError, match=r'\[0, 2\)'):
        largest_component_per_class(torch.full((1, 3, 3), 5), 2)
    with pytest.raises(ConfigError, match='connectivity'):
        largest_component_per_class(torch.zeros(1, 3, 3).long(), 2, 3)


def test_bcp_box_mask_geometry():
    """BCP code/ACDC_BCP_train.py generate_mask: an int(2H/3) x int(2W/3)
    box, corner uniform over [0, H - box_h) x [0, W - box_w)."""
    gen = torch.Generator().manual_seed(0)
    h, w = 12, 9
    tops, lefts = set(), set()
    for _ in range(200):
        m = bcp_box_mask(h, w, generator=gen)
        assert m.shape == (h, w) and m.dtype == torch.bool
        rows = torch.nonzero(m.any(1)).flatten()
        cols = torch.nonzero(m.any(0)).flatten()
        assert len(rows) == 8 and len(cols) == 6
        assert m.sum() == 8 * 6  # a full rectangle
        tops.add(int(rows[0]))
        lefts.add(int(cols[0]))
    assert tops == set(range(0, h - 8)) and lefts == set(range(0, w - 6))
    with pytest.raises(ValueError, match='too small'):
        bcp_box_mask(1, 5)


def test_unimatch_cutmix_box_distribution():
    """UniMatch more-scenarios/medical/dataset/transform.py
    obtain_cutmix_box: with probability p a box of area 2-40 % and aspect
    h / w in [0.3, 1/0.3] (up to the int truncation), else no box."""
    gen = torch.Generator().manual_seed(0)
    size = 64
    boxes = unimatch_cutmix_boxes(300, size, size, p=0.5, generator=gen)
    assert boxes.shape == (300, size, size)
    present = boxes.flatten(1).any(1)
    assert 0.4 < present.float().mean().item() < 0.6
    for m in boxes[present]:
        rows = torch.nonzero(m.any(1)).flatten()
        cols = torch.nonzero(m.any(0)).flatten()
        bh, bw = len(rows), len(cols)
        assert m.sum() == bh * bw  # a rectangle
        area = size * size
        assert bh * bw <= 0.4 * area + 1e-9
        # int() truncation loses less than one row/column of each side
        assert (bh + 1) * (bw + 1) >= 0.02 * area
        assert bh / (bw + 1) <= 1 / 0.3 and (bh + 1) / bw >= 0.3
    assert not unimatch_cutmix_box(8, 8, p=0.0, generator=gen).any()
    assert unimatch_cutmix_box(8, 8, p=1.0, generator=gen).any()


def test_unimatch_cutmix_box_bad_settings():
    """Settings that cannot give a box are refused with the key named."""
    with pytest.raises(ConfigError, match='p='):
        unimatch_cutmix_box(8, 8, p=1.5)
    with pytest.raises(ConfigError, match='area_range'):
        unimatch_cutmix_box(8, 8, area_range=(0.5, 0.1))
    with pytest.raises(ConfigError, match='aspect_range'):
        unimatch_cutmix_box(8, 8, aspect_range=(2.0, 3.0))


# ---------------------------------------------------------------- UniMatch
def test_unimatch_unlabelled_dice_is_class_dice_loss():
    """UniMatch more-scenarios/medical/util/utils.py DiceLoss with
    ignore = (conf < 0.95) (unimatch.py, loss_u_s1) equals ClassDiceLoss
    (eps 1e-5) with the ignored pixels labelled 255."""
    rng = np.random.default_rng(3)
    n, c, h, w = 2, 4, 5, 6
    logits = rng.normal(size=(n, c, h, w)) * 3
    teacher = rng.normal(size=(n, c, h, w)) * 4
    tprob = _softmax(teacher)
    conf, mask_u = tprob.max(1), tprob.argmax(1)
    ignore = conf < 0.95
    prob = _softmax(logits)
    ref = 0.0
    for k in range(c):
        score, target = prob[:, k][~ignore], (mask_u == k)[~ignore]
        inter = np.sum(score * target)
        y_sum, z_sum = np.sum(target * target), np.sum(score * score)
        ref += 1 - (2 * inter + 1e-5) / (z_sum + y_sum + 1e-5)
    ref /= c
    target = torch.from_numpy(np.where(ignore, 255, mask_u))
    got = ClassDiceLoss(eps=1e-5)(torch.from_numpy(logits).float(), target)
    assert 0 < ignore.sum() < ignore.size  # both kinds of pixel present
    assert got.item() == pytest.approx(ref, rel=1e-5)


def test_gray_color_jitter_matches_pil():
    """UniMatch dataset/acdc.py: ColorJitter on a PIL 'L' image is PIL's
    ImageEnhance.Brightness then .Contrast (or the reverse); on 8-bit
    images the float version agrees to the 8-bit rounding."""
    rng = np.random.default_rng(4)
    img8 = rng.integers(0, 256, (16, 16)).astype(np.uint8)
    pil = Image.fromarray(img8)
    x = img8.astype(np.float32) / 255
    for b, c in ((0.6, 1.4), (1.45, 0.55)):
        ref = ImageEnhance.Contrast(ImageEnhance.Brightness(pil).enhance(b))
        ref = np.asarray(ref.enhance(c), dtype=np.float32) / 255
        got = gray_color_jitter(x, b, c, contrast_first=False)
        np.testing.assert_allclose(got, ref, atol=2.5 / 255)
        ref = ImageEnhance.Brightness(ImageEnhance.Contrast(pil).enhance(c))
        ref = np.asarray(ref.enhance(b), dtype=np.float32) / 255
        got = gray_color_jitter(x, b, c, contrast_first=True)
        np.testing.assert_allclose(got, ref, atol=2.5 / 255)


def test_unimatch_strong_aug_steps():
    """Probabilities 0 keep the image; blur alone is a Gaussian of sigma in
    the range (UniMatch dataset/transform.py blur, sigma U(0.1, 2))."""
    rng = np.random.default_rng(5)
    img = rng.random((20, 18)).astype(np.float32)
    same = UniMatchStrongAug(
        jitter_prob=0, blur_prob=0).transform(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(same, img)
    np.random.seed(0)
    blurred = UniMatchStrongAug(
        jitter_prob=0, blur_prob=1,
        blur_sigma_range=(1.5, 1.5)).transform(dict(img=img.copy()))['img']
    ref = ndimage.gaussian_filter(
        img.astype(np.float64), 1.5, mode='mirror', truncate=4.0)
    np.testing.assert_allclose(blurred, ref, atol=2e-3)
    np.random.seed(1)
    jit = UniMatchStrongAug(
        jitter_prob=1, blur_prob=0).transform(dict(img=img.copy()))['img']
    assert jit.min() >= 0 and jit.max() <= 1 and not np.allclose(jit, img)
    with pytest.raises(ConfigError, match='brightness'):
        UniMatchStrongAug(brightness=2)
    with pytest.raises(ConfigError, match='blur_sigma_range'):
        UniMatchStrongAug(blur_sigma_range=(0, 1))
    with pytest.raises(ConfigError, match='jitter_prob'):
        UniMatchStrongAug(jitter_prob=-0.1)


def test_unimatch_strong_views_packing():
    """Two strong views by default, weak view first; labelled slices get
    copies unless labelled_strong."""
    rng = np.random.default_rng(6)
    img = rng.random((8, 8)).astype(np.float32)
    views = UniMatchStrongViews(strong=dict(jitter_prob=1, blur_prob=1))
    out = views.transform(dict(img=img.copy()))
    assert out['img'].shape == (8, 8, 3) and out['num_views'] == 3
    np.testing.assert_array_equal(out['img'][..., 0], img)
    assert not np.allclose(out['img'][..., 1], img)
    lab = views.transform(dict(img=img.copy(), gt_seg_map=np.zeros((8, 8))))
    np.testing.assert_array_equal(lab['img'][..., 2], img)
    with pytest.raises(ConfigError, match='num_strong'):
        UniMatchStrongViews(num_strong=0)


# ------------------------------------------------------------------ MC-Net
def test_sharpen_formula():
    """MC-Net code/train_mcnet_2d.py sharpening: P^(1/T) / (P^(1/T) +
    (1-P)^(1/T))."""
    p = torch.tensor([0.1, 0.5, 0.6, 0.9], dtype=torch.float64)
    ref = [q**10 / (q**10 + (1 - q)**10) for q in p.tolist()]
    np.testing.assert_allclose(sharpen(p, 0.1).numpy(), ref, rtol=1e-12)
    with pytest.raises(ConfigError, match='temperature'):
        sharpen(p, 0.0)


def _mc_reference(logits_list, temperature=0.1):
    """MC-Net train_mcnet_2d.py: sum_{i != j} mse(y_ori[i], sharpen(y_j))
    with losses.mse_loss = mean((a - b)^2)."""
    probs = [_softmax(x) for x in logits_list]
    sharp = [
        p**(1 / temperature) / (p**(1 / temperature) +
                                (1 - p)**(1 / temperature)) for p in probs
    ]
    total = 0.0
    for i in range(len(probs)):
        for j in range(len(probs)):
            if i != j:
                total += np.mean((probs[i] - sharp[j])**2)
    return total


@pytest.mark.parametrize('k', [2, 3])
def test_mutual_consistency_loss_matches_reference(k):
    """MC-Net code/train_mcnet_2d.py train: loss_consist over K decoders."""
    rng = np.random.default_rng(7 + k)
    logits = [rng.normal(size=(2, 4, 5, 5)) for _ in range(k)]
    loss = MutualConsistencyLoss(temperature=0.1)
    got = loss([torch.from_numpy(x) for x in logits])
    assert got.item() == pytest.approx(_mc_reference(logits), rel=1e-5)


def test_mutual_consistency_gradient_through_target():
    """Official code: gradient also flows through the sharpened target;
    ``detach_target=True`` gives the gradient through p_i alone."""
    rng = np.random.default_rng(9)
    base = [rng.normal(size=(1, 3, 4, 4)) for _ in range(2)]
    grads = {}
    for detach, loss in ((False, MutualConsistencyLoss()),
                         (True, MutualConsistencyLoss(detach_target=True))):
        xs = [torch.tensor(x, requires_grad=True) for x in base]
        loss(xs).backward()
        grads[detach] = [x.grad.clone() for x in xs]
    for detach in (False, True):
        xs = [torch.tensor(x, requires_grad=True) for x in base]
        probs = [x.softmax(1) for x in xs]
        sharp = [sharpen(p.detach() if detach else p, 0.1) for p in probs]
        (((probs[0] - sharp[1])**2).mean() +
         ((probs[1] - sharp[0])**2).mean()).backward()
        for g, x in zip(grads[detach], xs):
            torch.testing.assert_close(g, x.grad)
    assert not torch.allclose(grads[False][0], grads[True][0])


def test_mutual_consistency_bad_input():
    """One decoder, shape mismatches and bad settings are refused."""
    loss = MutualConsistencyLoss()
    with pytest.raises(ValueError, match='at least 2'):
        loss([torch.zeros(1, 2, 3, 3)])
    with pytest.raises(ValueError, match='same shape'):
        loss([torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 4, 3)])
    with pytest.raises(ConfigError, match='temperature'):
        MutualConsistencyLoss(temperature=-1)


# ---------------------------------------------- Chaitanya et al. local loss
def _local_reference(fa, fb, positives, negatives, s, t, weight=None):
    """domain_specific_cl models.py decoder_pretrain_net, local_loss_exp_no
    = 0: per slice and region, -log(e^num / (e^num + sum den)) both ways,
    summed, divided by the number of regions (line 1135) and by the number
    of images bs = 2 * batch_size (line 1341)."""

    def vec(f, y, x):
        v = f[:, y:y + s, x:x + s].reshape(-1)
        if weight is not None:
            v = weight @ v
        return v / np.linalg.norm(v)

    def cos(u, v):
        return float(u @ v) / t

    total = 0.0
    for i in range(fa.shape[0]):
        for k, (py, px) in enumerate(positives):
            a_k, b_k = vec(fa[i], py, px), vec(fb[i], py, px)
            den_a = den_b = 0.0
            for ny, nx in negatives[k]:
                a_n, b_n = vec(fa[i], ny, nx), vec(fb[i], ny, nx)
                den_a += math.exp(cos(a_k, a_n)) + math.exp(cos(a_k, b_n))
                den_b += math.exp(cos(b_k, b_n)) + math.exp(cos(b_k, a_n))
            num_a, num_b = math.exp(cos(a_k, b_k)), math.exp(cos(b_k, a_k))
            total += -math.log(num_a / (num_a + den_a))
            total += -math.log(num_b / (num_b + den_b))
    return total / len(positives) / (2 * fa.shape[0])


@pytest.mark.parametrize('region_size,project', [(3, False), (3, True),
                                                 (1, False)])
def test_local_contrastive_loss_matches_reference(region_size, project):
    """krishnabits001/domain_specific_cl models.py decoder_pretrain_net:
    the L_R local loss on a (N, C, H, W) decoder feature map."""
    rng = np.random.default_rng(10)
    n, c, h, w = 2, 3, 12, 11
    fa = rng.normal(size=(n, c, h, w))
    fb = fa + 0.3 * rng.normal(size=(n, c, h, w))
    loss = LocalContrastiveLoss(
        temperature=0.1,
        region_size=region_size,
        in_channels=c if project else None,
        embed_dim=8)
    weight = None
    if project:
        weight = loss.proj.weight.detach().double().numpy()
    positives, negatives = local_region_layout(h, w, region_size)
    ref = _local_reference(fa, fb, positives, negatives, region_size, 0.1,
                           weight)
    got = loss(torch.from_numpy(fa).float(), torch.from_numpy(fb).float())
    assert got.item() == pytest.approx(ref, rel=1e-4)


def test_local_region_layout_geometry():
    """13 positive corners on the quarter grid of H - 4 (3 x 3 regions),
    each with 5 distinct negatives inside the map and unlike itself."""
    positives, negatives = local_region_layout(20, 20, 3)
    assert len(positives) == 13 and positives[4] == (8, 8)
    assert positives[-1] == (12, 12) and positives[2] == (0, 16)
    for pos, negs in zip(positives, negatives):
        assert len(set(negs)) == 5 and pos not in negs
        assert all(0 <= y <= 16 and 0 <= x <= 16 for y, x in negs)


def test_local_contrastive_loss_bad_input():
    """Small maps, mismatched views or channels and bad settings fail."""
    loss = LocalContrastiveLoss(in_channels=4)
    with pytest.raises(ValueError, match='too small'):
        loss(torch.zeros(1, 4, 3, 3), torch.zeros(1, 4, 3, 3))
    with pytest.raises(ValueError, match='one shape'):
        loss(torch.zeros(1, 4, 8, 8), torch.zeros(1, 4, 8, 9))
    with pytest.raises(ValueError, match='in_channels'):
        loss(torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 8, 8))
    with pytest.raises(ConfigError, match='region_size'):
        LocalContrastiveLoss(region_size=2)
    with pytest.raises(ConfigError, match='loss_'):
        LocalContrastiveLoss(loss_name='local')


def test_registered_components_build_from_config():
    """Every new loss and transform builds from a config dict by name."""
    from mmseg.registry import MODELS, TRANSFORMS
    built = [
        MODELS.build(dict(type='BCPMixedLoss', u_weight=0.5)),
        MODELS.build(dict(type='MutualConsistencyLoss')),
        MODELS.build(dict(type='LocalContrastiveLoss', in_channels=4))
    ]
    assert [b.loss_name for b in built] == [
        'loss_bcp_mix', 'loss_mutual_consistency', 'loss_local_contrast'
    ]
    assert built[2].proj.weight.shape == (128, 4 * 9)
    views = TRANSFORMS.build(dict(type='UniMatchStrongViews', num_strong=2))
    assert isinstance(views.strong, UniMatchStrongAug)
    assert views.strong.brightness == (0.5, 1.5)
    assert unimatch_cutmix_boxes(0, 4, 4).shape == (0, 4, 4)
