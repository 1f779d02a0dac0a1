"""DenseContrastivePretrainer: gradients, the EMA key branch, modes."""
from types import SimpleNamespace

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmseg.registry import HOOKS, MODELS, TRANSFORMS

init_default_scope('mmseg')

BACKBONE = dict(
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
    norm_cfg=dict(type='BN'))


def build_model(key_branch='ema', **kw):
    cfg = dict(
        type='DenseContrastivePretrainer',
        backbone=BACKBONE,
        proj_head=dict(type='DenseConvProjHead', in_channels=16, channels=8),
        loss=dict(type='DenseContrastiveLoss', num_samples=32),
        key_branch=key_branch,
        momentum=0.3,
        **kw)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def make_batch(n=2, size=32, seed=0):
    np.random.seed(seed)
    pipeline = [
        TRANSFORMS.build(dict(type='DenseContrastiveTwoView', out_size=size)),
        TRANSFORMS.build(dict(type='PackTwoViewInputs'))
    ]
    items = []
    for _ in range(n):
        r = dict(img=np.random.rand(40, 36).astype(np.float32))
        for t in pipeline:
            r = t(r)
        items.append(r)
    return pseudo_collate(items)


def key_params(model):
    return {
        k: v.detach().clone()
        for k, v in model.key_branch.module.named_parameters()
    }


def query_params(model):
    q = dict(('backbone.' + k, v.detach().clone())
             for k, v in model.backbone.named_parameters())
    q.update(('proj_head.' + k, v.detach().clone())
             for k, v in model.proj_head.named_parameters())
    return q


def test_ema_key_branch_gets_no_gradient_and_follows_the_ema_rule():
    torch.manual_seed(0)
    model = build_model('ema')
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5))
    assert all(not p.requires_grad for p in model.key_branch.parameters())
    # init_weights made the key branch a copy of the query branch
    for name, p in key_params(model).items():
        torch.testing.assert_close(
            p, query_params(model)[name], rtol=0, atol=0)
    data = model.data_preprocessor(make_batch(seed=0), training=True)
    losses = model(**data, mode='loss')
    losses['loss_dense'].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.proj_head.parameters())
    assert all(p.grad is None for p in model.key_branch.parameters())
    optim.step()
    optim.zero_grad()
    # after the step MeanTeacherHook calls update_teacher():
    # key = (1 - m) * key + m * query (mmengine convention)
    k_before, q_now = key_params(model), query_params(model)
    assert any(not torch.equal(k_before[n], q_now[n]) for n in q_now)
    hook = HOOKS.build(dict(type='MeanTeacherHook'))
    runner = SimpleNamespace(model=model, iter=0)
    hook.before_train(runner)
    hook.after_train_iter(runner, batch_idx=0)
    for name, k_after in key_params(model).items():
        expected = 0.7 * k_before[name] + 0.3 * q_now[name]
        torch.testing.assert_close(k_after, expected, rtol=1e-5, atol=1e-6)
    # the forward itself leaves the key branch alone
    k_before = key_params(model)
    log = model.train_step(make_batch(seed=1), optim)
    assert set(log) >= {
        'loss', 'loss_dense', 'dense_nce', 'dense_pos', 'dense_neg',
        'dense_pairs'
    }
    for name, k_after in key_params(model).items():
        torch.testing.assert_close(k_after, k_before[name], rtol=0, atol=0)
    # buffers (BN statistics) are copied from the query branch at each update
    model.update_teacher()
    q_bufs = dict(model.backbone.named_buffers())
    for name, b in model.key_branch.module['backbone'].named_buffers():
        torch.testing.assert_close(b, q_bufs[name])
    assert int(model.key_branch.steps) == 3


def test_shared_key_branch_backpropagates_through_both_views_and_learns():
    torch.manual_seed(0)
    model = build_model('shared')
    assert model.key_branch is None
    assert not any(k.startswith('key_branch') for k in model.state_dict())
    optim = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    batch = make_batch(n=4, seed=3)
    data = model.data_preprocessor(batch, training=True)
    x = data['inputs'].clone().requires_grad_()
    model(x, data['data_samples'], mode='loss')['loss_dense'].backward()
    assert x.grad[:, 0].abs().sum() > 0 and x.grad[:, 1].abs().sum() > 0
    model.zero_grad()
    first = [
        model.train_step(batch, optim)['loss_dense'].item() for _ in range(15)
    ]
    assert first[-1] < first[0]


def test_tensor_mode_global_head_and_errors():
    torch.manual_seed(0)
    model = build_model(
        'ema',
        global_head=dict(type='GlobalProjHead', in_channels=16, channels=8))
    model.train()
    data = model.data_preprocessor(make_batch(seed=2), training=True)
    losses = model(**data, mode='loss')
    assert losses['loss_global'].requires_grad
    assert any(
        k.startswith('global_head.')
        for k, _ in model.key_branch.module.named_parameters())
    emb = model(data['inputs'], mode='tensor')
    assert emb.shape == (2, 2, 8, 8, 8)
    torch.testing.assert_close(emb.norm(dim=2), torch.ones(2, 2, 8, 8))
    with pytest.raises(ValueError, match='mode'):
        model(data['inputs'], data['data_samples'], mode='predict')
    with pytest.raises(ideal_mm.errors.ConfigError, match='key_branch'):
        build_model('moco')
    with pytest.raises(ideal_mm.errors.ConfigError, match='momentum'):
        MODELS.build(
            dict(
                type='DenseContrastivePretrainer',
                backbone=BACKBONE,
                proj_head=dict(type='DenseConvProjHead', in_channels=16),
                momentum=0.99 + 0.01))


def test_ema_update_runs_under_mmengine_ddp_wrapper(tmp_path):
    """MMDistributedDataParallel.train_step calls forward, not the model's
    train_step: MeanTeacherHook unwraps the model and steps the key branch
    after the optimizer step; without the hook training is refused."""
    import torch.distributed as dist
    from mmengine.logging import MessageHub
    from mmengine.model import MMDistributedDataParallel
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/pg', rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        model = build_model('ema')
        ddp = MMDistributedDataParallel(module=model)
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5))
        hook = HOOKS.build(dict(type='MeanTeacherHook'))
        runner = SimpleNamespace(model=ddp, iter=0)
        ddp.train_step(make_batch(seed=0), optim)
        k_before, q_now = key_params(model), query_params(model)
        hook.after_train_iter(runner, batch_idx=0)
        assert int(model.key_branch.steps) == 2  # init copy + one step
        for name, k_after in key_params(model).items():
            torch.testing.assert_close(
                k_after,
                0.7 * k_before[name] + 0.3 * q_now[name],
                rtol=1e-5,
                atol=1e-6)
        MessageHub.get_current_instance().update_info('iter', 1)
        log = ddp.train_step(make_batch(seed=1), optim)
        assert torch.isfinite(log['loss_dense'])
        fresh = build_model('ema')
        with pytest.raises(
                ideal_mm.errors.ConfigError, match='MeanTeacherHook'):
            fresh.train_step(make_batch(seed=1), optim)
    finally:
        MessageHub.get_current_instance().update_info('iter', 0)
        dist.destroy_process_group()
