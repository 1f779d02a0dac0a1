"""Every semi-supervised / IDEAL fine-tuning config builds and trains one
iteration on CPU with phantom data (tiny crops, batch 2 + 2).

Covers configs/ideal/*.py except the pre-training configs, the CPS,
mean-teacher and UniMatch baselines and the semi-supervised demo configs. A
backbone with a ``Pretrained`` init_cfg loads a generated ``encoder.pth`` (keys
prefixed ``backbone.``, the stage-1 export format), and the test checks the
weights arrived.
"""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS

import ideal_mm  # noqa: F401  (before mmseg)
from ideal_mm.engine.config_checks import check_pretrained_files
from ideal_mm.errors import ConfigError
from ideal_mm.model_config import encoder_config

init_default_scope('mmseg')
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    [
        p for p in glob.glob(osp.join(REPO, 'configs/ideal/*.py'))
        if 'pretrain' not in osp.basename(p)
    ] + glob.glob(osp.join(REPO, 'configs/baselines/cps_*.py')) +
    glob.glob(osp.join(REPO, 'configs/baselines/mean_teacher_*.py')) +
    glob.glob(osp.join(REPO, 'configs/baselines/unimatch*.py')) +
    glob.glob(osp.join(REPO, 'configs/demo/unimatch*.py')) +
    glob.glob(osp.join(REPO, 'configs/demo/ideal_*finetune*.py')) +
    glob.glob(osp.join(REPO, 'configs/demo/cps_*.py')) +
    glob.glob(osp.join(REPO, 'configs/demo/*semi*.py')) +
    glob.glob(osp.join(REPO, 'configs/demo/ideal_*_unet_phantom.py')))
CROP = (32, 32)


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """Tiny tensors: one intra-op thread avoids OpenMP spin-wait contention
    on a shared 2-core machine (10-40x slower with 2 threads under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _walk(obj, fn):
    if isinstance(obj, dict):
        fn(obj)
        for v in obj.values():
            _walk(v, fn)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _walk(v, fn)


def _tiny(cfg, data_root, split_cfg, cache_dir, work_dir):
    """Phantom data, 32x32 crops, 2 + 2 batches, one iteration, no val."""
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

    def small(d):
        if d.get('type') == 'Resize':
            d['scale'] = CROP
        if d.get('type') == 'SyncBN':
            d['type'] = 'BN'  # single CPU process (tools/train.py does too)

    _walk(cfg._cfg_dict, small)
    train = cfg.train_dataloader
    train.batch_size = 4
    if train.sampler.type == 'SemiSupMultiSourceSampler':
        train.sampler.update(batch_size=4, source_ratio=[2, 2])
    cfg.train_cfg.update(max_iters=1, val_begin=2)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1


def _fake_encoder(cfg, path):
    """Write a stage-1 style encoder.pth for cfg's backbone; return a tensor
    of it to compare after init."""
    model_cfg = copy.deepcopy(cfg.model)
    encoder_config(model_cfg).init_cfg = None
    backbone = MODELS.build(model_cfg).backbone
    state = {
        f'backbone.{k}': torch.randn_like(v) if v.is_floating_point() else v
        for k, v in backbone.state_dict().items()
    }
    torch.save(dict(state_dict=state), path)
    key = next(k for k, v in state.items() if v.dim() == 4)
    return key[len('backbone.'):], state[key]


@pytest.fixture(scope='module')
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('acdc_cache'))


@pytest.mark.parametrize(
    'config', CONFIGS, ids=[osp.relpath(c, REPO) for c in CONFIGS])
def test_config_trains_one_iteration(config, request, cache_dir, tmp_path):
    from conftest import data_for
    cfg = Config.fromfile(config)
    # phantom ACDC, or the whole-heart nnU-Net phantom for the MMWHS configs
    data_root, split_cfg = data_for(cfg.train_dataloader.dataset.type, request)
    _tiny(cfg, data_root, split_cfg, cache_dir, str(tmp_path))
    encoder = encoder_config(cfg.model)
    init_cfg = encoder.get('init_cfg')
    expected = None
    if init_cfg:
        assert init_cfg.type == 'Pretrained'
        assert init_cfg.prefix == 'backbone.'
    if init_cfg and encoder.type == 'ResNetV1c':
        # writing and reading a random 48M-parameter encoder costs ~30 s on a
        # shared machine; the prefix contract is checked with the other
        # encoders, so ResNet-50 trains from scratch here.
        encoder.init_cfg = None
    elif init_cfg:
        path = str(tmp_path / 'encoder.pth')
        expected = _fake_encoder(cfg, path)
        init_cfg.checkpoint = path
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert loss == loss and loss > 0  # finite, not NaN
    model = runner.model
    if expected is not None:
        # loaded, then one SGD step: still close to the file's weights
        key, value = expected
        loaded = dict(model.backbone.named_parameters())[key].detach()
        assert torch.allclose(loaded, value, atol=0.05)
    if cfg.model.type == 'BiConsistencySemiSupModel':
        assert runner.message_hub.get_scalar('train/unsup.weight') is not None
    if cfg.model.type == 'MeanTeacherSemiSupModel':
        assert int(model.teacher.steps) == 1


def test_missing_encoder_fails_at_startup_with_the_command(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs/ideal/unet_acdc.py'))
    cfg.model.segmentor.backbone.init_cfg.checkpoint = str(tmp_path /
                                                           'nope.pth')
    with pytest.raises(ConfigError) as err:
        check_pretrained_files(cfg)
    assert 'python tools/train.py configs/ideal/unet_acdc_pretrain.py' in \
        str(err.value)
    cfg.model.segmentor.backbone.init_cfg = None  # from scratch
    check_pretrained_files(cfg)
