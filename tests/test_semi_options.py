"""BiConsistencySemiSupModel's unlabelled-signal options, each pinned against
an independent computation on a tiny batch: strong views (which stream's weak
pseudo-label supervises which strong prediction, the confidence mask), CutMix,
the feature-dropout branch, bidirectional copy-paste (the mixed label), the
diagnostics, and that pseudo-labels carry no gradient."""
import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS, TRANSFORMS
from mmseg.structures import SegDataSample
from semi_helpers import BN, plain_preprocessor, tiny_unet_encoder

from ideal_mm.errors import ConfigError
from ideal_mm.models.segmentors import unsup_branches

init_default_scope('mmseg')
LOSSES = [dict(type='CrossEntropyLoss', loss_weight=1.0)]
S = 16


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def reset_iter():
    MessageHub.get_current_instance().update_info('iter', 0)
    yield


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


WEAK = dict(type='WeakViewPseudoLabel')
BCP = dict(type='BidirectionalCopyPaste', prob=1.0, ratio=0.5)


def strong_branch(n=1, cutmix_prob=0.0):
    return dict(
        type='StrongViewPseudoLabel', num_views=n, cutmix_prob=cutmix_prob)


def build_model(branches=None, filters=None, **semi_train_cfg):
    cfg = dict(rampup_iters=0, max_consistency_weight=0.5)
    cfg.update(semi_train_cfg)
    torch.manual_seed(0)
    model = dict(
        type='BiConsistencySemiSupModel',
        data_preprocessor=plain_preprocessor(),
        segmentor=dict(
            backbone=tiny_unet_encoder(), decode_head=head('bilinear')),
        decode_head_2=head('deconv'),
        semi_train_cfg=cfg)
    if branches is not None:
        model['unsup_branches'] = branches
    if filters is not None:
        model['pseudo_label_filters'] = filters
    return MODELS.build(model)


def batch(n_lab=2, n_unl=3, views=2, oracle=False):
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


def heads_of(model, x):
    return model.decode_head_1.forward(x), model.decode_head_2.forward(x)


def pseudo(z, thr=None):
    p = z.softmax(1)
    y = p.argmax(1)
    if thr is not None:
        y[p.max(1).values < thr] = 255
    return y


def grad_sum(loss, module):
    gs = torch.autograd.grad(
        loss, [p for p in module.parameters()],
        retain_graph=True,
        allow_unused=True)
    return sum(float(g.abs().sum()) for g in gs if g is not None)


def test_strong_views_cross_terms_and_mask():
    model = build_model([strong_branch(1)], conf_threshold=0.3)
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    weak, strong = inputs[:, :1], inputs[:, 1:]
    with torch.no_grad():
        z1w, z2w = heads_of(model, model.extract_feat(weak))
        y1, y2 = pseudo(z1w[2:], 0.3), pseudo(z2w[2:], 0.3)
        z1s, z2s = heads_of(model, model.extract_feat(strong[2:]))
        exp2 = 0.5 * F.cross_entropy(z2s, y1, ignore_index=255)
        exp1 = 0.5 * F.cross_entropy(z1s, y2, ignore_index=255)
        sup1 = F.cross_entropy(
            z1w[:2], torch.cat([s.gt_sem_seg.data for s in samples[:2]]))
    assert torch.allclose(losses['unsup.s2.loss_cps'], exp2, atol=1e-5)
    assert torch.allclose(losses['unsup.s1.loss_cps'], exp1, atol=1e-5)
    # labelled samples are supervised on their weak view
    assert torch.allclose(losses['sup.s1.loss_ce'], sup1, atol=1e-5)
    kept = float((y1 != 255).float().mean())
    assert 0 < kept < 1
    assert abs(float(losses['unsup.s2.kept']) - kept) < 1e-6
    # stream 1's pseudo-label teaches stream 2 only: no gradient into head 1
    assert grad_sum(losses['unsup.s2.loss_cps'], model.decode_head_1) == 0
    assert grad_sum(losses['unsup.s2.loss_cps'], model.decode_head_2) > 0
    assert grad_sum(losses['unsup.s1.loss_cps'], model.decode_head_2) == 0
    assert grad_sum(losses['unsup.s1.loss_cps'], model.backbone) > 0
    agree = float((z1w[2:].argmax(1) == z2w[2:].argmax(1)).float().mean())
    assert abs(float(losses['unsup.agree']) - agree) < 1e-6


def test_cutmix_mixes_images_and_targets_alike(monkeypatch):
    model = build_model([strong_branch(1, cutmix_prob=1.0)])
    box = torch.zeros(3, S, S, dtype=torch.bool)
    box[:, 2:9, 4:12] = True
    box[1] = False  # sample 1 not mixed
    monkeypatch.setattr(unsup_branches, 'random_boxes', lambda *a, **k: box)
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        z1w, z2w = heads_of(model, model.extract_feat(inputs[:, :1]))
        y1, y2 = pseudo(z1w[2:]), pseudo(z2w[2:])
        strong = inputs[2:, 1:]
        partner = torch.tensor([1, 2, 0])  # sample i takes the box of i + 1
        mixed = torch.where(box[:, None], strong[partner], strong)
        t1 = torch.where(box, y1[partner], y1)
        t2 = torch.where(box, y2[partner], y2)
        z1s, z2s = heads_of(model, model.extract_feat(mixed))
        exp2 = 0.5 * F.cross_entropy(z2s, t1)
        exp1 = 0.5 * F.cross_entropy(z1s, t2)
    assert torch.allclose(losses['unsup.s2.loss_cps'], exp2, atol=1e-5)
    assert torch.allclose(losses['unsup.s1.loss_cps'], exp1, atol=1e-5)


def test_feature_dropout_branch():
    model = build_model([WEAK, dict(type='FeaturePerturbation', p=0.5)])
    inputs, samples = batch(views=1)
    # with the dropout replaced by identity, the branch decodes the weak
    # features of the unlabelled samples with the other stream's target
    branch = model.unsup_branches[1]
    dropout = branch.dropout
    branch.dropout = nn.Identity()
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        x = model.extract_feat(inputs)
        z1, z2 = heads_of(model, x)
        y1, y2 = pseudo(z1[2:]), pseudo(z2[2:])
        f1, f2 = heads_of(model, [f[2:] for f in x])
        exp2 = 0.5 * F.cross_entropy(f2, y1)
        exp1 = 0.5 * F.cross_entropy(f1, y2)
    assert torch.allclose(losses['unsup.s2.loss_fp'], exp2, atol=1e-5)
    assert torch.allclose(losses['unsup.s1.loss_fp'], exp1, atol=1e-5)
    branch.dropout = dropout
    model.train()
    torch.manual_seed(3)
    dropped = model.loss(inputs, samples)
    # dropped channels change the prediction, not the target or direction
    assert not torch.allclose(dropped['unsup.s2.loss_fp'], exp2, atol=1e-4)
    assert grad_sum(dropped['unsup.s2.loss_fp'], model.decode_head_1) == 0
    assert grad_sum(dropped['unsup.s2.loss_fp'], model.decode_head_2) > 0


def test_copy_paste_labels_and_loss(monkeypatch):
    model = build_model([WEAK, BCP])
    box = torch.zeros(2, S, S, dtype=torch.bool)
    box[:, 4:12, 4:12] = True
    monkeypatch.setattr(unsup_branches, 'random_boxes', lambda *a, **k: box)
    inputs, samples = batch(n_lab=2, n_unl=3, views=1)
    losses = model.loss(inputs, samples)
    gt = torch.cat([s.gt_sem_seg.data for s in samples[:2]])
    with torch.no_grad():
        z1, z2 = heads_of(model, model.extract_feat(inputs))
        y1, y2 = pseudo(z1[2:4]), pseudo(z2[2:4])
        a, u = inputs[:2], inputs[2:4]
        x_in = torch.where(box[:, None], u, a)  # unlabelled patch inside
        x_out = torch.where(box[:, None], a, u)  # labelled patch inside
        # the label follows the pixels: gt where a's pixels are, the other
        # stream's pseudo-label where u's are
        t_from_1 = torch.cat(
            [torch.where(box, y1, gt),
             torch.where(box, gt, y1)])
        t_from_2 = torch.cat(
            [torch.where(box, y2, gt),
             torch.where(box, gt, y2)])
        z1m, z2m = heads_of(model,
                            model.extract_feat(torch.cat([x_in, x_out])))
        exp2 = 0.5 * F.cross_entropy(z2m, t_from_1)
        exp1 = 0.5 * F.cross_entropy(z1m, t_from_2)
    assert torch.allclose(losses['unsup.s2.loss_bcp'], exp2, atol=1e-5)
    assert torch.allclose(losses['unsup.s1.loss_bcp'], exp1, atol=1e-5)
    assert grad_sum(losses['unsup.s2.loss_bcp'], model.decode_head_1) == 0
    # the plain term stays on
    assert 'unsup.s2.loss_cps' in losses


def test_oracle_figures_match_independent_computation():
    model = build_model(conf_threshold=0.3)
    inputs, samples = batch(views=1, oracle=True)
    losses = model.loss(inputs, samples)
    gt = torch.cat([s.oracle_sem_seg.data for s in samples[2:]])
    with torch.no_grad():
        z1, _ = heads_of(model, model.extract_feat(inputs))
        p = z1[2:].softmax(1)
        pred = p.argmax(1)
        kept = p.max(1).values >= 0.3
        acc = (pred == gt)[kept].float().mean()
        dice = np.mean([
            2 * float(((pred == c) & (gt == c)).sum()) /
            float((pred == c).sum() + (gt == c).sum()) for c in (1, 2, 3)
        ])
    assert abs(float(losses['oracle.s1.pl_acc']) - float(acc)) < 1e-6
    assert abs(float(losses['oracle.s1.pl_fg_dice']) - dice) < 1e-6
    # oracle keys are logs: parse_losses does not add them to the loss
    total, _ = model.parse_losses(losses)
    assert torch.allclose(total,
                          sum(v for k, v in losses.items() if 'loss' in k))


def test_no_oracle_keys_without_hidden_labels():
    model = build_model()
    losses = model.loss(*batch(views=1))
    assert not any(k.startswith('oracle.') for k in losses)


@pytest.mark.parametrize('cfg,match', [
    (dict(branches=[strong_branch(0)]), 'num_views must be an int >= 1'),
    (dict(branches=[strong_branch(1, cutmix_prob=1.5)]),
     'cutmix_prob must be in'),
    (dict(branches=[dict(type='FeaturePerturbation', p=1.0)]),
     r'FeaturePerturbation.p must be in \[0, 1\)'),
    (dict(branches=[dict(BCP, prob=-0.1)]), 'prob must be in'),
    (dict(branches=[dict(BCP, ratio=1.5)]), r'ratio must be in \(0, 1\)'),
    (dict(branches=[dict(type='CrossEntropyLoss')]),
     'not an unlabelled-data branch'),
    (dict(branches=WEAK), 'must be a list'),
    (dict(strong_view=1), 'unknown model.semi_train_cfg keys'),
])
def test_bad_options(cfg, match):
    with pytest.raises(ConfigError, match=match):
        build_model(**cfg)


def test_strong_views_without_the_transform_says_what_to_add():
    model = build_model([strong_branch(1)])
    inputs, samples = batch(views=1)
    with pytest.raises(ConfigError, match='WeakStrongViews'):
        model.loss(inputs, samples)


def test_weak_strong_views_transform_and_oracle_packing():
    rng = np.random.default_rng(0)
    img = rng.random((S, S), dtype=np.float32)
    t = TRANSFORMS.build(dict(type='WeakStrongViews', num_strong=2))
    np.random.seed(0)
    out = t.transform(dict(img=img.copy()))
    assert out['img'].shape == (S, S, 3)
    assert np.array_equal(out['img'][..., 0], img)
    assert not np.allclose(out['img'][..., 1], img)
    assert not np.allclose(out['img'][..., 1], out['img'][..., 2])
    # labelled slices get copies (their strong views are never used)
    lab = t.transform(dict(img=img.copy(), gt_seg_map=np.zeros((S, S))))
    assert np.array_equal(lab['img'][..., 2], img)
    pack = TRANSFORMS.build(
        dict(type='PackSemiSegInputs', meta_keys=('img_shape', )))
    oracle = rng.integers(0, 4, (S, S)).astype(np.uint8)
    packed = pack.transform(
        dict(img=out['img'], img_shape=(S, S), oracle_seg_map=oracle))
    assert packed['inputs'].shape == (3, S, S)
    sample = packed['data_samples']
    assert 'gt_sem_seg' not in sample
    assert torch.equal(sample.oracle_sem_seg.data[0],
                       torch.from_numpy(oracle).long())
    with pytest.raises(ConfigError, match='num_strong'):
        TRANSFORMS.build(dict(type='WeakStrongViews', num_strong=0))


def test_dataset_oracle_labels(phantom_root, phantom_split_cfg, tmp_path):
    from ideal_mm.datasets import ACDCDataset
    ds = ACDCDataset(
        data_root=phantom_root,
        split_cfg=phantom_split_cfg,
        label_budget=2,
        oracle_labels=True,
        progress=False,
        cache_dir=str(tmp_path / 'cache'),
        pipeline=[dict(type='LoadACDCSlice'),
                  dict(type='PackSemiSegInputs')])
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    labelled = [d for d in infos if d['labelled']]
    unlabelled = [d for d in infos if not d['labelled']]
    assert labelled and unlabelled
    assert all('oracle_seg_map_path' not in d for d in labelled)
    assert all(d['seg_map_path'] is None and d['oracle_seg_map_path']
               for d in unlabelled)
    item = ds[infos.index(unlabelled[0])]
    assert 'gt_sem_seg' not in item['data_samples']
    vol = np.load(unlabelled[0]['oracle_seg_map_path'])
    assert np.array_equal(item['data_samples'].oracle_sem_seg.data[0].numpy(),
                          vol[unlabelled[0]['slice_idx']])


def test_unsup_loss_list_is_summed():
    dice = dict(type='ClassDiceLoss', loss_weight=1.0)
    ce = dict(type='CrossEntropyLoss', loss_weight=0.5, avg_non_ignore=True)
    model = build_model(unsup_loss=[ce, dice], conf_threshold=0.3)
    inputs, samples = batch(views=1)
    losses = model.loss(inputs, samples)
    ce_m, dice_m = MODELS.build(ce), MODELS.build(dice)
    with torch.no_grad():
        z1, z2 = heads_of(model, model.extract_feat(inputs))
        y1 = pseudo(z1[2:], 0.3)
        expected = 0.5 * (
            ce_m(z2[2:], y1, ignore_index=255) +
            dice_m(z2[2:], y1, ignore_index=255))
        # the Dice term is per-class soft Dice (squared p in the
        # denominator) over the confident pixels only
        p = z2[2:].softmax(1)
        valid = y1 != 255
        terms = []
        for c in range(4):
            pc = p[:, c][valid]
            gc = (y1[valid] == c).float()
            terms.append(1 - (2 * (pc * gc).sum() + 1e-5) /
                         ((pc * pc).sum() + gc.sum() + 1e-5))
    assert torch.allclose(losses['unsup.s2.loss_cps'], expected, atol=1e-5)
    assert torch.allclose(
        dice_m(z2[2:], y1, ignore_index=255),
        torch.stack(terms).mean(),
        atol=1e-3)


def test_copy_paste_refuses_unsup_on_all():
    # with 'all' the labelled slices are also pseudo-labelled and would be
    # pasted into themselves
    with pytest.raises(
            ConfigError,
            match="BidirectionalCopyPaste needs "
            "model.semi_train_cfg.unsup_on='unlabelled'"):
        build_model([WEAK, BCP], unsup_on='all')
    model = build_model([WEAK, BCP])
    assert model.unsup_branches[1].ratio == 0.5


def test_a_method_or_branch_without_its_loss_is_refused_when_defined():
    from ideal_mm.models.segmentors import SemiSupervisedSegmentor, UnsupBranch

    with pytest.raises(TypeError, match='must define loss_by_pseudo'):

        class NoLoss(SemiSupervisedSegmentor):
            pass

    class NoForward(UnsupBranch):
        pass

    with pytest.raises(TypeError, match='abstract'):
        NoForward('loss_x')
