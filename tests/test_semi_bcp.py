"""BCPSemiSupModel against re-computations of BCP's official training step.

References are written from DeepMed-Lab-ECNU/BCP ``code/ACDC_BCP_train.py``
(``pre_train`` 241-251, ``self_train`` 358-383, ``generate_mask`` 131-140,
``mix_loss`` 167-179, ``get_ACDC_2DLargestCC`` 89-109, ``update_model_ema``
123-129) and ``code/utils/losses.py`` (``DiceLoss`` 79-134): NumPy, the
official float masks (``img_mask`` 1 outside the box), no ideal_mm code
except the networks' forward passes.
"""
import copy
import os.path as osp
from types import SimpleNamespace

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.registry import HOOKS, MODELS
from mmseg.structures import SegDataSample
from semi_helpers import BN, tiny_unet_encoder
from test_comparator_losses import _lcc_reference

from ideal_mm.engine.best_checkpoint import find_best_checkpoint
from ideal_mm.engine.encoder_loading import init_weights_verified
from ideal_mm.errors import CheckpointError, ConfigError
from ideal_mm.models.losses import box_masks

init_default_scope('mmseg')
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SIZE = 32
C = 4


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """Tiny tensors: one intra-op thread (shared 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def reset_iter():
    MessageHub.get_current_instance().update_info('iter', 0)
    yield
    MessageHub.get_current_instance().update_info('iter', 0)


def model_cfg(init_cfg=None, **semi_train_cfg):
    return dict(
        type='BCPSemiSupModel',
        segmentor=dict(
            backbone=tiny_unet_encoder(),
            decode_head=dict(
                type='UNetDecoderHead',
                in_channels=[4, 8, 16],
                channels=4,
                num_classes=C,
                norm_cfg=BN,
                dropout_ratio=0.0),
            init_cfg=init_cfg),
        semi_train_cfg=semi_train_cfg)


def build(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(**kwargs))
    model.init_weights()
    return model


def batch(n_lab=4, n_unl=4, seed=0):
    """Blocky labels (4x4 cells) so that Dice terms see regions."""
    g = torch.Generator().manual_seed(seed)
    samples = []
    for i in range(n_lab + n_unl):
        s = SegDataSample(
            metainfo=dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE)))
        if i < n_lab:
            cells = torch.randint(0, C, (1, SIZE // 4, SIZE // 4), generator=g)
            s.gt_sem_seg = PixelData(
                data=cells.repeat_interleave(4, 1).repeat_interleave(4, 2))
        samples.append(s)
    inputs = torch.randn(n_lab + n_unl, 1, SIZE, SIZE, generator=g)
    return inputs, samples


def fixed_box(monkeypatch):
    """The box BCP's generate_mask would draw with corner (3, 5): the
    2/3-side box of a 32x32 image is 21x21."""
    box = torch.zeros(SIZE, SIZE, dtype=torch.bool)
    box[3:24, 5:26] = True
    calls = []

    def sampler(h, w, generator=None, device=None):
        calls.append((h, w))
        return box.to(device)

    monkeypatch.setattr(box_masks, 'bcp_box_mask', sampler)
    return box.numpy(), calls


# ------------------------------------------------- official re-computation
def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _dice_loss(prob, label, mask, smooth=1e-10):
    """code/utils/losses.py DiceLoss(n_classes=4) with a mask."""
    total = 0.0
    for c in range(prob.shape[1]):
        g = (label == c).astype(np.float64)
        inter = np.sum(prob[:, c] * g * mask)
        z_sum = np.sum(prob[:, c]**2 * mask)
        y_sum = np.sum(g * g * mask)
        total += 1 - (2 * inter + smooth) / (z_sum + y_sum + smooth)
    return total / prob.shape[1]


def _mix_loss(output, img_l, patch_l, mask, u_weight, unlab=False):
    """code/ACDC_BCP_train.py mix_loss (l_weight = 1): (dice, ce)."""
    image_weight, patch_weight = 1.0, u_weight
    if unlab:
        image_weight, patch_weight = u_weight, 1.0
    patch_mask = 1 - mask
    prob = _softmax(output.astype(np.float64))
    logp = np.log(prob)

    def ce(lab):
        return -np.take_along_axis(logp, lab[:, None], axis=1)[:, 0]

    dice = _dice_loss(prob, img_l, mask) * image_weight
    dice += _dice_loss(prob, patch_l, patch_mask) * patch_weight
    loss_ce = image_weight * (ce(img_l) * mask).sum() / (mask.sum() + 1e-16)
    loss_ce += patch_weight * (ce(patch_l) * patch_mask).sum() / (
        patch_mask.sum() + 1e-16)
    return dice, loss_ce


def _net(module, x):
    """A network's output on a NumPy batch (the official ``model(x)``)."""
    with torch.no_grad():
        out = module._forward(torch.from_numpy(x).float())
    assert out.shape[2:] == x.shape[2:]
    return out.numpy()


def _labels(samples, idx):
    return np.stack([samples[i].gt_sem_seg.data[0].numpy() for i in idx])


# ------------------------------------------------------------------ tests
def test_self_training_step_equals_official(monkeypatch):
    """self_train 358-383 with u_weight 0.5: loss = (unl_dice + l_dice +
    unl_ce + l_ce) / 2, pseudo-labels get_ACDC_masks(ema(uimg), nms=1)."""
    box, calls = fixed_box(monkeypatch)
    model = build()
    model.update_teacher()  # step 0 copies the student
    with torch.no_grad():  # a teacher unlike the student
        for p in model.teacher.module.parameters():
            p.add_(0.2 * torch.randn_like(p))
    inputs, samples = batch()
    student = copy.deepcopy(model.student).train()
    teacher = copy.deepcopy(model.teacher.module).train()  # BCP 344
    x = inputs.numpy()
    img_a, img_b, uimg_a, uimg_b = x[0:2], x[2:4], x[4:6], x[6:8]
    lab_a, lab_b = _labels(samples, [0, 1]), _labels(samples, [2, 3])
    pre_a, pre_b = _net(teacher, uimg_a), _net(teacher, uimg_b)
    raw_a = np.argmax(_softmax(pre_a), axis=1)
    plab_a = _lcc_reference(raw_a, C)
    plab_b = _lcc_reference(np.argmax(_softmax(pre_b), axis=1), C)
    assert (plab_a != raw_a).any()  # the component filter matters here
    img_mask = (~box).astype(np.float64)  # generate_mask: 0 inside the box
    loss_mask = np.broadcast_to(img_mask, lab_a.shape)
    net_input_unl = uimg_a * img_mask + img_a * (1 - img_mask)
    net_input_l = img_b * img_mask + uimg_b * (1 - img_mask)
    out_unl = _net(student, net_input_unl)
    out_l = _net(student, net_input_l)
    unl_dice, unl_ce = _mix_loss(
        out_unl, plab_a, lab_a, loss_mask, 0.5, unlab=True)
    l_dice, l_ce = _mix_loss(out_l, lab_b, plab_b, loss_mask, 0.5)
    expected = (unl_dice + l_dice + unl_ce + l_ce) / 2

    losses = model.loss(inputs, samples)
    assert calls == [(SIZE, SIZE)]  # one box for the whole batch
    loss_keys = sorted(k for k in losses if 'loss' in k)
    assert loss_keys == ['unsup.loss_mix_l', 'unsup.loss_mix_unl']
    got = losses['unsup.loss_mix_unl'] + losses['unsup.loss_mix_l']
    assert got.item() == pytest.approx(expected, rel=1e-5)
    assert losses['unsup.loss_mix_unl'].item() == pytest.approx(
        (unl_dice + unl_ce) / 2, rel=1e-5)
    assert float(losses['unsup.weight']) == 1.0
    # no gradient reaches the teacher; the student gets one
    got.backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert all(not p.requires_grad for p in model.teacher.parameters())
    assert model.student.decode_head.conv_seg.weight.grad.abs().sum() > 0


def test_pseudo_labels_are_detached_lcc_of_train_mode_teacher():
    model = build()
    model.update_teacher()
    inputs, samples = batch()
    teacher = copy.deepcopy(model.teacher.module).train()
    from ideal_mm.models.segmentors.semi_base import SemiBatch
    sb = SemiBatch([inputs], samples, [0, 1, 2, 3], [4, 5, 6, 7], 1.0, [], ())
    logs = {}
    plab_a, plab_b = model.get_pseudo_labels(sb, logs)
    assert not plab_a.requires_grad and plab_a.dtype == torch.long
    ref = _lcc_reference(
        np.argmax(_net(teacher, inputs[6:8].numpy()), axis=1), C)
    assert np.array_equal(plab_b.numpy(), ref)
    assert 0.0 <= float(logs['unsup.fg']) <= 1.0
    # eval mode on request: running statistics instead of batch ones
    eval_model = build(teacher_train_mode=False)
    eval_model.update_teacher()
    t_eval = copy.deepcopy(eval_model.teacher.module).eval()
    _, pb = eval_model.get_pseudo_labels(sb, {})
    ref = _lcc_reference(
        np.argmax(_net(t_eval, inputs[6:8].numpy()), axis=1), C)
    assert np.array_equal(pb.numpy(), ref)
    assert eval_model.teacher.module.training  # mode restored
    # without the filter: the plain argmax
    plain = build(largest_component=False)
    plain.update_teacher()
    t_plain = copy.deepcopy(plain.teacher.module).train()
    pa, _ = plain.get_pseudo_labels(sb, {})
    assert np.array_equal(
        pa.numpy(), np.argmax(_net(t_plain, inputs[4:6].numpy()), axis=1))


def test_labelled_phase_step_equals_official(monkeypatch):
    """pre_train 241-251: input img_a * img_mask + img_b * (1 - img_mask),
    mix_loss(out, lab_a, lab_b, loss_mask, u_weight=1.0, unlab=True),
    loss = (dice + ce) / 2; the unlabelled slices are ignored."""
    box, _ = fixed_box(monkeypatch)
    model = build(phase='labelled', ema_momentum=None)
    assert model.teacher is None
    inputs, samples = batch(n_lab=4, n_unl=2)
    student = copy.deepcopy(model.student).train()
    x = inputs.numpy()
    img_mask = (~box).astype(np.float64)
    net_input = x[0:2] * img_mask + x[2:4] * (1 - img_mask)
    lab_a, lab_b = _labels(samples, [0, 1]), _labels(samples, [2, 3])
    dice, ce = _mix_loss(
        _net(student, net_input),
        lab_a,
        lab_b,
        np.broadcast_to(img_mask, lab_a.shape),
        1.0,
        unlab=True)
    losses = model.loss(inputs, samples)
    assert sorted(k for k in losses if 'loss' in k) == ['sup.loss_bcp_mix']
    assert losses['sup.loss_bcp_mix'].item() == pytest.approx(
        (dice + ce) / 2, rel=1e-5)


def test_teacher_follows_bcp_ema_for_params_and_buffers():
    """update_model_ema(model, ema, 0.99) after optimizer.step():
    ema = 0.99 ema + 0.01 student over the state dict."""
    model = build()
    hook = HOOKS.build(dict(type='MeanTeacherHook'))
    runner = SimpleNamespace(model=model, iter=0)
    hook.before_train(runner)
    hook.after_train_iter(runner, batch_idx=0)  # mmengine: step 0 copies
    inputs, _ = batch()
    model.student.train()
    with torch.no_grad():
        model.student._forward(inputs)  # moves the BN running statistics
        for p in model.student.parameters():
            p.add_(torch.randn_like(p))
    t0 = {k: v.clone() for k, v in model.teacher.module.state_dict().items()}
    s = model.student.state_dict()
    runner.iter = 1
    hook.after_train_iter(runner, batch_idx=1)
    t1 = model.teacher.module.state_dict()
    checked = 0
    for k, v in t0.items():
        if not v.is_floating_point():
            continue
        assert not torch.equal(v, s[k]), k
        assert torch.allclose(t1[k], 0.99 * v + 0.01 * s[k], atol=1e-6), k
        checked += 'running_' in k
    assert checked > 0  # BN buffers included


def test_bad_options_name_the_key():
    with pytest.raises(ConfigError, match=r"unsup_on='all'"):
        build(unsup_on='all')
    with pytest.raises(ConfigError, match='phase must be one of'):
        build(phase='both')
    with pytest.raises(ConfigError, match='ema_momentum must be None'):
        build(phase='labelled')
    with pytest.raises(ConfigError, match='ema_momentum is required'):
        build(ema_momentum=None)
    with pytest.raises(ConfigError, match='no consistency ramp'):
        build(rampup_iters=100)
    model = build()
    model.update_teacher()
    inputs, samples = batch(n_lab=4, n_unl=2)
    with pytest.raises(ValueError, match='one to one'):
        model.loss(inputs, samples)
    inputs, samples = batch(n_lab=3, n_unl=3)
    with pytest.raises(ValueError, match='source_ratio'):
        model.loss(inputs, samples)


def _phase1_checkpoint(path):
    torch.manual_seed(3)
    phase1 = MODELS.build(model_cfg(phase='labelled', ema_momentum=None))
    phase1.init_weights()
    with torch.no_grad():
        for p in phase1.parameters():
            p.add_(torch.randn_like(p))
    torch.save(dict(state_dict=phase1.state_dict(), meta=dict()), path)
    return phase1.student.state_dict()


def test_phase2_init_copies_phase1_student_into_student_and_teacher(tmp_path):
    ckpt = str(tmp_path / 'best_mDice_iter_8.pth')
    expected = _phase1_checkpoint(ckpt)
    init_cfg = dict(type='Pretrained', checkpoint=ckpt, prefix='student.')
    for init in ('mmengine', 'verified'):
        torch.manual_seed(1)
        model = MODELS.build(model_cfg(init_cfg=dict(init_cfg)))
        if init == 'mmengine':
            model.init_weights()
        else:  # what VerifiedInitHook does in a training run
            init_weights_verified(model)
        for net in (model.student, model.teacher.module):
            state = net.state_dict()
            for k, v in expected.items():
                assert torch.equal(state[k], v), (init, k)
    # the work dir resolver: one best file, else an error naming the dir
    assert find_best_checkpoint(str(tmp_path)) == ckpt
    (tmp_path / 'best_mDice_iter_9.pth').write_bytes(b'')
    with pytest.raises(CheckpointError, match=str(tmp_path)):
        find_best_checkpoint(str(tmp_path))
    with pytest.raises(CheckpointError, match='no best_'):
        find_best_checkpoint(str(tmp_path / '..'))
    with pytest.raises(CheckpointError, match='not a folder'):
        find_best_checkpoint(str(tmp_path / 'nope'))


def _tiny_run(cfg, phantom_root, split_cfg, work_dir):
    """Phantom data, 32x32 slices, 4 (+ 4) per batch, one iteration."""
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.dataset.update(
            data_root=phantom_root,
            split_cfg=split_cfg,
            cache_dir=osp.join(work_dir, 'cache'),
            progress=False)
        for t in loader.dataset.pipeline:
            if t.get('type') == 'Resize':
                t['scale'] = (SIZE, SIZE)
            if t.get('type') == 'RandomAffineResize':
                t['out_size'] = (SIZE, SIZE)
    cfg.train_cfg.update(max_iters=1, val_begin=2)
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert loss == loss and loss > 0
    return runner


def test_phantom_configs_train_one_iteration_each(phantom_root,
                                                  phantom_split_cfg, tmp_path):
    cfg1 = Config.fromfile(
        osp.join(REPO, 'configs/demo/bcp_labelled_unet_phantom.py'))
    assert cfg1.model.semi_train_cfg.phase == 'labelled'
    # BCP: constant lr
    assert [(s.type, s.factor)
            for s in cfg1.param_scheduler] == [('ConstantLR', 1.0)]
    runner = _tiny_run(cfg1, phantom_root, phantom_split_cfg,
                       str(tmp_path / 'p1'))
    assert runner.message_hub.get_scalar('train/sup.loss_bcp_mix')
    assert runner.message_hub.get_scalar('train/lr').current() == 0.01
    ckpt = str(tmp_path / 'phase1.pth')
    key = 'decode_head.conv_seg.weight'
    state = runner.model.state_dict()
    # unlike any seeded initialisation of phase 2
    state['student.' + key] = state['student.' + key] + 1.0
    torch.save(dict(state_dict=state, meta=dict()), ckpt)
    phase1 = state['student.' + key]

    cfg2 = Config.fromfile(osp.join(REPO, 'configs/demo/bcp_unet_phantom.py'))
    assert cfg2.model.segmentor.init_cfg.prefix == 'student.'
    assert cfg2.train_dataloader.sampler.source_ratio == [4, 4]
    cfg2.model.segmentor.init_cfg.checkpoint = ckpt
    cfg2.train_dataloader.update(batch_size=4)
    cfg2.train_dataloader.sampler.update(batch_size=4, source_ratio=[2, 2])
    runner = _tiny_run(cfg2, phantom_root, phantom_split_cfg,
                       str(tmp_path / 'p2'))
    model = runner.model
    assert runner.message_hub.get_scalar('train/unsup.loss_mix_l')
    assert int(model.teacher.steps) == 1  # MeanTeacherHook stepped it
    # the first EMA step copied the student after one step from phase 1
    student = model.student.state_dict()[key]
    assert torch.equal(model.teacher.module.state_dict()[key], student)
    assert torch.allclose(student, phase1, atol=0.05)
