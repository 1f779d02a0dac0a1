"""LocalContrastivePretrainer (Chaitanya et al. 2020, decoder stage) and the
global -> local -> fine-tuning config chain.

Reference: krishnabits001/domain_specific_cl ``models.py``
``decoder_pretrain_net`` (line numbers as recorded in the comparator
review, /work/wt/REFS24.md section 5): g_2 = 1x1 conv (BN + ReLU) then 1x1
conv on the L-th decoder block (866-867, 877-902); ``cos_sim`` (77-84) =
normalised dot product / temperature; ``local_loss_exp_no=0`` (1000-1135):
per slice and positive region k, ``-log(e^pos / (e^pos + sum_neg
[e^{s(a_k, a_n)} + e^{s(a_k, b_n)}]))`` in both directions, summed, divided
by the number of regions (1135) and by ``bs = 2 x batch`` (1341); only the
decoder, g_2 and the region layer are optimised, the encoder restored from
stage 1 stays fixed (1343-1357).
"""
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement
from mmseg.registry import MODELS
from semi_helpers import BN, tiny_unet_encoder

from ideal_mm.engine.encoder_loading import init_weights_verified
from ideal_mm.engine.export_encoder import save_encoder
from ideal_mm.models.losses.local_contrastive_loss import local_region_layout

init_default_scope('mmseg')
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
GLOBAL = 'configs/pretrain/chaitanya-global_unet_1xb12-10k_acdc.py'
LOCAL = 'configs/pretrain/chaitanya-local_unet_1xb12-10k_acdc.py'
FINETUNE = 'configs/baselines/chaitanya_unet_1xb24-30k_acdc-{}pct.py'


def _tiny_model(num_blocks=1):
    torch.manual_seed(0)
    head = dict(
        type='UNetDecoderHead',
        in_channels=[4, 8, 16],
        channels=4,
        num_classes=3,
        norm_cfg=BN)
    return MODELS.build(
        dict(
            type='LocalContrastivePretrainer',
            backbone=tiny_unet_encoder(),
            decode_head=head,
            num_blocks=num_blocks,
            loss=dict(
                type='LocalContrastiveLoss',
                temperature=0.1,
                region_size=3,
                embed_dim=8)))


def _views(n=2, size=32):
    g = torch.Generator().manual_seed(7)
    x = torch.rand(n, 1, size, size, generator=g)
    # two intensity transforms of the same slices
    return torch.cat([1.2 * x + 0.1, 0.8 * x - 0.2], dim=1)


def _official_local_loss(g_a, g_b, weight, temp=0.1):
    """Loops of models.py's exp-0 branch, in float64."""
    g_a, g_b, w = g_a.double(), g_b.double(), weight.double()
    pos_c, neg_c = local_region_layout(g_a.shape[2], g_a.shape[3], 3)

    def region(g, i, yx):
        y, x = yx
        v = w @ g[i, :, y:y + 3, x:x + 3].reshape(-1)
        return v / v.norm()

    def cos_sim(u, v):
        return float(u @ v) / temp

    total = 0.0
    n = g_a.shape[0]
    for i in range(n):
        for k, yx in enumerate(pos_c):
            for one, other in ((g_a, g_b), (g_b, g_a)):
                a_k, b_k = region(one, i, yx), region(other, i, yx)
                pos = math.exp(cos_sim(a_k, b_k))
                neg = sum(
                    math.exp(cos_sim(a_k, region(one, i, c))) +
                    math.exp(cos_sim(a_k, region(other, i, c)))
                    for c in neg_c[k])
                total += -math.log(pos / (pos + neg))
    return total / len(pos_c) / (2 * n)


def test_one_step_equals_official_loss():
    model = _tiny_model(num_blocks=1)
    model.train()
    inputs = _views()
    loss = model.loss(inputs)['loss_local_contrast']
    with torch.no_grad():
        a, b = inputs[:, :1], inputs[:, 1:]
        both = torch.cat([a, b])
        f = model.backbone(both)
        # block 1 decodes the deepest level (16 ch, 1/4) onto 1/2 (8 ch)
        d = model.decode_head.up_blocks[1](f[2], f[1])
        g = model.proj_head(d)
    assert g.shape[2:] == (16, 16)
    ref = _official_local_loss(g[:2], g[2:],
                               model.loss_local.proj.weight.detach())
    assert float(loss) == pytest.approx(ref, rel=1e-5)


def test_encoder_gets_no_gradient_and_keeps_its_statistics():
    model = _tiny_model(num_blocks=2)
    model.train()
    assert not model.backbone.training
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    model.loss(_views())['loss_local_contrast'].backward()
    for name, p in model.backbone.named_parameters():
        assert p.grad is None, name
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, before[k]), k  # BN running stats too
    for part in (model.decode_head.up_blocks, model.proj_head,
                 model.loss_local):
        grads = [p.grad for p in part.parameters()]
        assert grads and all(gr is not None and gr.abs().sum() > 0
                             for gr in grads)


def test_views_must_share_geometry_and_export_keys():
    model = _tiny_model(num_blocks=1)
    s = BaseDataElement()
    s.affine_q = torch.eye(3, dtype=torch.float64)
    k = torch.eye(3, dtype=torch.float64)
    k[0, 2] = 2.0
    s.affine_k = k
    with pytest.raises(ValueError, match='intensity-only'):
        model.loss(_views(n=1), [s])
    keys = model.export_state_dict()
    dec = sorted(
        {k.split('.')[2]
         for k in keys if k.startswith('decode_head.')})
    assert dec == ['1']  # only the pre-trained block (deepest first)
    assert any(k.startswith('backbone.') for k in keys)
    assert not any('conv_seg' in k for k in keys)


def test_export_loads_into_the_finetuning_config(tmp_path):
    """The ACDC local config's export -> the fine-tuning config's model,
    every tensor checked (VerifiedInitHook's loader) and compared here."""
    cfg = Config.fromfile(osp.join(REPO, LOCAL))
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(1)
    pre = MODELS.build(cfg.model)
    state = pre.export_state_dict()
    state = {
        k: v + 0.5 if v.is_floating_point() else v
        for k, v in state.items()
    }  # not what a fresh init gives
    path = str(tmp_path / 'pretrained.pth')
    save_encoder(state, path, prefix='')
    assert {k.split('.')[2]
            for k in state if k.startswith('decode_head.')} == {'1', '2', '3'}
    for budget in ('1.25', '2.5', '10'):
        ft_cfg = Config.fromfile(osp.join(REPO, FINETUNE.format(budget)))
        assert ft_cfg.model.init_cfg.type == 'Pretrained'
        ft_cfg.model.init_cfg.checkpoint = path
        ft = MODELS.build(ft_cfg.model)
        loaded = init_weights_verified(ft)
        assert loaded == {'model': len(state)}
        ft_state = ft.state_dict()
        for key, value in state.items():
            assert torch.equal(ft_state[key], value), key
        # the block not pre-trained keeps its random initialisation
        assert not any(k.startswith('decode_head.up_blocks.0.') for k in state)


def _small(cfg, root, split_cfg, work_dir, crop=(32, 32)):
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    loader = cfg.train_dataloader
    loader.update(
        num_workers=0,
        persistent_workers=False,
        batch_size=2,
        pin_memory=False)
    loader.dataset.update(
        data_root=root,
        split_cfg=split_cfg,
        cache_dir=osp.join(work_dir, 'cache'),
        progress=False)
    for t in loader.dataset.pipeline:
        if t.type == 'DenseContrastiveTwoView':
            t.out_size = crop
    cfg.train_cfg.max_iters = 1
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1


def test_global_local_finetune_chain_one_iteration_each(
        phantom_root, phantom_split_cfg, tmp_path):
    torch.set_num_threads(1)
    # stage 1: global contrastive (G^R), whole encoder exported
    cfg = Config.fromfile(osp.join(REPO, GLOBAL))
    assert cfg.model.type == 'DenseContrastivePretrainer'
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3)
    _small(cfg, phantom_root, phantom_split_cfg, str(tmp_path / 'g'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.message_hub.get_scalar('train/loss_global').current() > 0
    encoder = str(tmp_path / 'g' / 'encoder.pth')
    assert osp.isfile(encoder)
    # stage 2: local contrastive on the frozen stage-1 encoder
    cfg = Config.fromfile(osp.join(REPO, LOCAL))
    cfg.model.backbone.init_cfg.checkpoint = encoder
    _small(cfg, phantom_root, phantom_split_cfg, str(tmp_path / 'l'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.message_hub.get_scalar(
        'train/loss_local_contrast').current() > 0
    exported = torch.load(
        str(tmp_path / 'l' / 'pretrained.pth'),
        map_location='cpu')['state_dict']
    enc = torch.load(encoder, map_location='cpu')['state_dict']
    for key, value in enc.items():  # frozen: the file's values, unchanged
        assert torch.equal(exported[key], value), key
    # stage 3: supervised fine-tuning from the export
    cfg = Config.fromfile(osp.join(REPO, FINETUNE.format('1.25')))
    cfg.model.init_cfg.checkpoint = str(tmp_path / 'l' / 'pretrained.pth')
    cfg.work_dir = str(tmp_path / 'f')
    cfg.log_level = 'WARNING'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].update(num_workers=0, persistent_workers=False)
        cfg[name].dataset.update(
            data_root=phantom_root,
            split_cfg=phantom_split_cfg,
            cache_dir=str(tmp_path / 'f' / 'cache'),
            progress=False)
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.update(max_iters=1, val_begin=2)
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert loss == loss and loss > 0
    blocks = dict(runner.model.named_parameters())
    key = 'decode_head.up_blocks.3.conv_block.convs.0.conv.weight'
    # one SGD step from the exported value
    assert torch.allclose(blocks[key].detach(), exported[key], atol=0.05)
    assert F.mse_loss(blocks[key].detach(), exported[key]) < 1e-4


DEMO = ('configs/demo/chaitanya-global_unet_phantom.py',
        'configs/demo/chaitanya-local_unet_phantom.py',
        'configs/demo/chaitanya_unet_phantom.py')


@pytest.mark.parametrize(
    'chain', [(GLOBAL, LOCAL, FINETUNE.format('1.25')),
              (GLOBAL, LOCAL, FINETUNE.format('2.5')),
              (GLOBAL, LOCAL, FINETUNE.format('10')), DEMO],
    ids=lambda c: c[-1])
def test_each_stage_names_the_file_of_the_stage_before(chain):
    """pretrain_config names the previous stage and the file read lies in
    that stage's default work dir; local and fine-tuning configs share the
    encoder and decoder configs, so the export fits."""
    cfgs = [Config.fromfile(osp.join(REPO, p)) for p in chain]
    glob_cfg, local, finetune = cfgs
    assert glob_cfg.custom_hooks == [
        dict(type='ExportEncoderHook', filename='encoder.pth')
    ]
    assert local.pretrain_config == chain[0]
    assert local.model.backbone.init_cfg.checkpoint == osp.join(
        'work_dirs',
        osp.splitext(osp.basename(chain[0]))[0], 'encoder.pth')
    assert finetune.pretrain_config == chain[1]
    assert finetune.model.init_cfg.checkpoint == osp.join(
        'work_dirs',
        osp.splitext(osp.basename(chain[1]))[0], 'pretrained.pth')
    assert local.model.decode_head == finetune.model.decode_head
    backbone = dict(local.model.backbone)
    backbone.pop('init_cfg')
    assert backbone == finetune.model.backbone
    assert glob_cfg.model.backbone == finetune.model.backbone
    for cfg in cfgs:
        model_cfg = cfg.model.copy()
        model_cfg.pop('init_cfg', None)
        if 'init_cfg' in model_cfg.get('backbone', {}):
            model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)
        MODELS.build(model_cfg)
