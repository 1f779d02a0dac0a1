"""MCNetSemiSupModel against MC-Net's published computation.

Reference: ycwu1997/MC-Net ``code/train_mcnet_2d.py`` (line numbers as
recorded in the comparator review, /work/wt/REFS24.md section 4):
``sharpening`` (30-33), the step (115-147: Dice on the labelled half per
decoder, 127-128; ``y_pseudo = sharpening(softmax)`` 130-133;
``loss_consist = sum_{i != j} mse_loss(y_ori[i], y_pseudo[j])`` 135-139;
``loss = lamda * loss_seg_dice + consistency_weight * loss_consist`` 144),
``get_current_consistency_weight = 0.1 * sigmoid_rampup(iter // 150, 200)``
(26-28, 142); ``utils/losses.py`` ``mse_loss`` (19-20, mean over all
elements) and the class-wise soft Dice (``DiceLoss``, smooth 1e-10,
mean over all classes of ``1 - (2 I + s) / (Z + Y + s)``).
"""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from semi_helpers import BN, plain_preprocessor, tiny_unet_encoder

from ideal_mm.errors import ConfigError
from ideal_mm.models.segmentors import SemiBatch

init_default_scope('mmseg')
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MCNET_CONFIGS = [
    'configs/demo/mcnet_unet_phantom.py',
    'configs/baselines/mcnet_unet_1xb24-30k_acdc-7pat.py',
]


def _head(mode: str) -> dict:
    return dict(
        type='UNetDecoderHead',
        in_channels=[4, 8, 16],
        channels=4,
        num_classes=3,
        norm_cfg=BN,
        dropout_ratio=0.0,
        upsample_mode=mode,
        loss_decode=[dict(type='ClassDiceLoss', eps=1e-10)])


def _model(detach: bool = False, modes=('deconv', )):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='MCNetSemiSupModel',
            data_preprocessor=plain_preprocessor(),
            segmentor=dict(
                backbone=tiny_unet_encoder(), decode_head=_head('bilinear')),
            extra_heads=[_head(m) for m in modes],
            semi_train_cfg=dict(rampup_iters=30000, detach_target=detach)))


def _batch(n_lab=2, n_unl=2, size=16):
    g = torch.Generator().manual_seed(3)
    inputs = torch.randn(n_lab + n_unl, 1, size, size, generator=g)
    samples = []
    for i in range(n_lab + n_unl):
        s = SegDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                pad_shape=(size, size)))
        if i < n_lab:
            s.gt_sem_seg = PixelData(
                data=torch.randint(0, 3, (1, size, size), generator=g))
        samples.append(s)
    return inputs, samples


def _official_sharpening(p, t):
    # train_mcnet_2d.py sharpening: P^(1/T) / (P^(1/T) + (1-P)^(1/T))
    return p**(1 / t) / (p**(1 / t) + (1 - p)**(1 / t))


def _official_dice(prob, label, n_classes, smooth=1e-10):
    # utils/losses.py DiceLoss on softmax outputs, one-hot target, all
    # classes weighted 1, divided by n_classes
    loss = 0.0
    for c in range(n_classes):
        target = (label == c).float()
        score = prob[:, c]
        inter = (score * target).sum()
        y_sum = (target * target).sum()
        z_sum = (score * score).sum()
        loss = loss + 1 - (2 * inter + smooth) / (z_sum + y_sum + smooth)
    return loss / n_classes


def _official_weight(it):
    # 0.1 * sigmoid_rampup(iter // 150, 200)
    cur = min(max(it // 150, 0), 200)
    return 0.1 * math.exp(-5.0 * (1.0 - cur / 200)**2)


@pytest.mark.parametrize(
    'modes', [('deconv', ), ('deconv', 'nearest')], ids=['v1', 'v2'])
def test_one_step_equals_official_formulas(modes):
    model = _model(modes=modes)
    model.train()
    inputs, samples = _batch()
    it = 15000  # a multiple of 150: the official step ramp equals ours
    MessageHub.get_current_instance().update_info('iter', it)
    try:
        losses = model.loss(inputs, samples)
        with torch.no_grad():
            feats = model.student.extract_feat(inputs)
            outs = [h(feats) for h in model.stream_heads()]
    finally:
        MessageHub.get_current_instance().update_info('iter', 0)
    probs = [z.softmax(1) for z in outs]
    label = torch.stack([s.gt_sem_seg.data[0] for s in samples[:2]])
    for k, p in enumerate(probs, start=1):
        ref = _official_dice(p[:2], label, 3)
        torch.testing.assert_close(
            losses[f'sup.s{k}.loss_dice'].detach(), ref, rtol=1e-5, atol=1e-6)
    consist = sum(((probs[i] - _official_sharpening(probs[j], 0.1))**2).mean()
                  for i in range(len(probs)) for j in range(len(probs))
                  if i != j)
    weight = _official_weight(it)
    assert float(losses['unsup.weight']) == pytest.approx(weight, rel=1e-6)
    torch.testing.assert_close(
        losses['unsup.loss_mutual_consistency'].detach(),
        weight * consist,
        rtol=1e-5,
        atol=1e-8)
    # only the Dice and the consistency are summed (no CE, as the official)
    assert sorted(k for k in losses if 'loss' in k) == sorted(
        [f'sup.s{k}.loss_dice'
         for k in range(1,
                        len(probs) + 1)] + ['unsup.loss_mutual_consistency'])


def _consistency_grads(detach: bool):
    model = _model(detach=detach)
    g = torch.Generator().manual_seed(5)
    z1 = torch.randn(3, 3, 8, 8, generator=g, requires_grad=True)
    z2 = torch.randn(3, 3, 8, 8, generator=g, requires_grad=True)
    batch = SemiBatch([z1], [], [], [0, 1, 2], 1.0, [], (z1, z2))
    loss = model.loss_by_pseudo(batch, None)['unsup.loss_mutual_consistency']
    return torch.autograd.grad(loss, (z1, z2)), (z1, z2)


def _reference_grads(z1, z2, detach: bool):
    z1 = z1.detach().requires_grad_()
    z2 = z2.detach().requires_grad_()
    p1, p2 = z1.softmax(1), z2.softmax(1)
    s1, s2 = _official_sharpening(p1, 0.1), _official_sharpening(p2, 0.1)
    if detach:
        s1, s2 = s1.detach(), s2.detach()
    loss = ((p1 - s2)**2).mean() + ((p2 - s1)**2).mean()
    return torch.autograd.grad(loss, (z1, z2))


def test_gradient_through_the_sharpened_target_follows_detach_target():
    (g1, g2), (z1, z2) = _consistency_grads(detach=False)
    (d1, d2), _ = _consistency_grads(detach=True)
    for got, ref in zip((g1, g2), _reference_grads(z1, z2, False)):
        torch.testing.assert_close(got, ref)
    for got, ref in zip((d1, d2), _reference_grads(z1, z2, True)):
        torch.testing.assert_close(got, ref)
    # the part that reaches each decoder through its own sharpened target
    assert (g1 - d1).abs().max() > 1e-4
    assert (g2 - d2).abs().max() > 1e-4


def test_both_decoders_get_gradient_from_the_target_path():
    """Network level: with only unlabelled slices the consistency term alone
    trains both decoders; detaching removes the target path, so decoder
    gradients differ between the settings."""
    grads = {}
    for detach in (False, True):
        model = _model(detach=detach)
        model.train()
        inputs, samples = _batch(n_lab=0, n_unl=3)
        MessageHub.get_current_instance().update_info('iter', 30000)
        try:
            loss = model.loss(inputs, samples)['unsup.loss_mutual_consistency']
        finally:
            MessageHub.get_current_instance().update_info('iter', 0)
        loss.backward()
        grads[detach] = [
            h.conv_seg.weight.grad.clone() for h in model.stream_heads()
        ]
    for live, cut in zip(grads[False], grads[True]):
        assert live.abs().sum() > 0 and cut.abs().sum() > 0
        assert not torch.allclose(live, cut)


def test_predicts_with_decoder_one_and_checks_options():
    model = _model()
    model.eval()
    inputs, samples = _batch(n_lab=1, n_unl=0)
    with torch.no_grad():
        out = model.predict(inputs, samples)[0].seg_logits.data
        ref = model.student.encode_decode(inputs,
                                          [s.metainfo for s in samples])[0]
    torch.testing.assert_close(out, ref)
    with pytest.raises(ConfigError, match='extra_heads'):
        MODELS.build(
            dict(
                type='MCNetSemiSupModel',
                segmentor=dict(
                    backbone=tiny_unet_encoder(),
                    decode_head=_head('bilinear')),
                extra_heads=[]))
    with pytest.raises(ConfigError, match='temperature'):
        MODELS.build(
            dict(
                type='MCNetSemiSupModel',
                segmentor=dict(
                    backbone=tiny_unet_encoder(),
                    decode_head=_head('bilinear')),
                extra_heads=[_head('deconv')],
                semi_train_cfg=dict(temperature=0)))


def _tiny(cfg, data_root, split_cfg, cache_dir, work_dir):
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.dataset.update(
            data_root=data_root,
            split_cfg=split_cfg,
            cache_dir=cache_dir,
            progress=False)
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.sampler.update(batch_size=4, source_ratio=[2, 2])
    cfg.train_cfg.update(max_iters=1, val_begin=2)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1


@pytest.mark.parametrize('config', MCNET_CONFIGS)
def test_config_trains_one_iteration(config, phantom_root, phantom_split_cfg,
                                     tmp_path):
    torch.set_num_threads(1)
    cfg = Config.fromfile(osp.join(REPO, config))
    # constant lr, as the official (a factor-1 ConstantLR)
    assert [(s.type, s.factor)
            for s in cfg.param_scheduler] == [('ConstantLR', 1.0)]
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    _tiny(cfg, phantom_root, phantom_split_cfg, str(tmp_path / 'cache'),
          str(tmp_path))
    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    loss = hub.get_scalar('train/loss').current()
    assert loss == loss and loss > 0
    assert hub.get_scalar('train/unsup.loss_mutual_consistency').current() > 0
    assert runner.optim_wrapper.get_lr()['lr'][0] == 0.01
