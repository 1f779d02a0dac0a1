"""Encoder probes (ideal_mm.evaluation.probe, tools/analysis/probe_encoder.py,
EncoderProbeHook): the linear probe and the kNN transfer against independent
computations and on trivially separable / uninformative features, the JSON of
the command line, errors naming the file, and the hook's logging."""
from __future__ import annotations

import glob
import importlib.util
import json
import math
import os
import sys
from typing import List, Tuple

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
from ideal_mm.errors import CheckpointError, ConfigError, DataError
from ideal_mm.evaluation.probe import (KNNTransfer, LinearProbe, ProbeData,
                                       ProbeSlices, build_probe_encoder,
                                       fit_linear_probe, load_probe_data,
                                       probe_encoder, volume_dice)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUP_CONFIG = os.path.join(REPO, 'configs/demo/supervised_unetenc_phantom.py')
PRETRAIN_CONFIG = os.path.join(REPO,
                               'configs/demo/ideal_unet_phantom_pretrain.py')
_spec = importlib.util.spec_from_file_location(
    'ideal_mm_tool_probe_encoder',
    os.path.join(REPO, 'tools/analysis/probe_encoder.py'))
tool = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = tool
_spec.loader.exec_module(tool)

CLASSES = ('RV', 'Myo', 'LV')

# ----------------------------------------------------------- synthetic data


def _label_slice(rng: np.random.Generator, size: int) -> np.ndarray:
    """RV box, Myo ring, LV disc at random places (every class present)."""
    yy, xx = np.mgrid[:size, :size]
    lab = np.zeros((size, size), np.uint8)
    ry, rx = rng.integers(1, 5, 2)
    lab[ry:ry + 6, rx:rx + 7] = 1
    cy, cx = rng.integers(15, 21, 2)
    r = rng.integers(4, 7)
    dist = np.hypot(yy - cy, xx - cx)
    lab[dist < r + 3] = 2
    lab[dist < r] = 3
    return lab


def _synthetic(tmp_path,
               num_volumes: int = 4,
               depth: int = 3,
               size: int = 32,
               seed: int = 0) -> Tuple[List[np.ndarray], List[dict]]:
    """Label volumes saved as .npy references and per-slice metas."""
    rng = np.random.default_rng(seed)
    slices, metas = [], []
    for v in range(num_volumes):
        vol = np.stack([_label_slice(rng, size) for _ in range(depth)])
        path = str(tmp_path / f'vol{v}_gt.npy')
        np.save(path, vol)
        for k in range(depth):
            slices.append(vol[k])
            metas.append(
                dict(
                    volume_id=f'vol{v}',
                    slice_idx=k,
                    num_slices=depth,
                    spacing=(5.0, 1.0, 1.0),
                    seg_map_path=path,
                    ori_shape=(size, size)))
    return slices, metas


def _probe_data(tmp_path) -> ProbeData:
    """Images whose 4 channels are the one-hot label plus noise: volumes 0-1
    train the probes, volumes 2-3 are scored."""
    labels, metas = _synthetic(tmp_path)
    lab = torch.from_numpy(np.stack(labels)).long()
    gen = torch.Generator().manual_seed(1)
    images = F.one_hot(lab, 4).permute(0, 3, 1, 2).float()
    images = images + 0.1 * torch.randn(images.shape, generator=gen)
    train, test = slice(0, 6), slice(6, 12)
    return ProbeData(
        ProbeSlices(images[train], lab[train], metas[train]),
        ProbeSlices(images[test], lab[test], metas[test]), CLASSES)


class IdentityEncoder(nn.Module):
    """Two 'levels': the image itself and its 2x2 average."""

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return x, F.avg_pool2d(x, 2)


class NoiseEncoder(nn.Module):
    """Features that ignore the image (seeded noise)."""

    def __init__(self) -> None:
        super().__init__()
        self.gen = torch.Generator().manual_seed(123)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = x.shape
        return (torch.randn(b, 8, h, w, generator=self.gen),
                torch.randn(b, 16, h // 2, w // 2, generator=self.gen))


# ---------------------------------------------------------------- the probes


def test_probes_recover_separable_labels_and_not_noise(tmp_path):
    data = _probe_data(tmp_path)
    good = probe_encoder(
        IdentityEncoder(),
        data,
        iters=150,
        knn_k=5,
        knn_stride=1,
        progress=False)
    assert good['linear']['mDice'] > 0.97
    assert good['knn']['mDice'] > 0.95
    assert min(good['linear']['per_class'].values()) > 0.95
    assert good['linear']['num_volumes'] == 2
    assert [c['case'] for c in good['linear']['cases']] == ['vol2', 'vol3']
    bad = probe_encoder(
        NoiseEncoder(), data, iters=150, knn_k=5, knn_stride=2, progress=False)
    assert bad['linear']['mDice'] < 0.5
    assert bad['knn']['mDice'] < 0.5
    # deterministic: the same inputs give the same numbers
    again = probe_encoder(
        IdentityEncoder(),
        data,
        iters=150,
        knn_k=5,
        knn_stride=1,
        progress=False)
    assert again['linear'] == good['linear'] and again['knn'] == good['knn']


def test_linear_probe_equals_a_1x1_conv_on_upsampled_concatenated_levels():
    gen = torch.Generator().manual_seed(0)
    feats = [
        torch.randn(3, 5, 16, 16, generator=gen),
        torch.randn(3, 7, 4, 4, generator=gen)
    ]
    means = [
        torch.randn(1, 5, 1, 1, generator=gen),
        torch.randn(1, 7, 1, 1, generator=gen)
    ]
    stds = [torch.rand(1, c, 1, 1, generator=gen) + 0.5 for c in (5, 7)]
    probe = LinearProbe(means, stds, num_classes=4)
    with torch.no_grad():
        for w in probe.weights:
            w.copy_(torch.randn(w.shape, generator=gen))
        probe.bias.copy_(torch.randn(4, generator=gen))
    # the definition: standardise, upsample every level, concatenate, 1x1 conv
    ups = [
        F.interpolate(
            (f - m) / s, size=(16, 16), mode='bilinear', align_corners=False)
        for f, m, s in zip(feats, means, stds)
    ]
    weight = torch.cat(list(probe.weights), 1)[:, :, None, None]
    expected = F.conv2d(torch.cat(ups, 1), weight, probe.bias)
    with torch.no_grad():
        got = probe(feats, (16, 16))
    assert torch.allclose(got, expected, atol=1e-5)


def test_linear_probe_fits_and_ignores_255():
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (4, 8, 8), generator=gen)
    feats = [F.one_hot(labels, 3).permute(0, 3, 1, 2).float()]
    labels_ign = labels.clone()
    labels_ign[:, :2] = 255  # ignored rows must not matter
    probe, loss = fit_linear_probe(feats, labels_ign, 3, iters=200, lr=0.05)
    with torch.no_grad():
        pred = probe(feats, (8, 8)).argmax(1)
    assert torch.equal(pred, labels)
    assert loss < 0.1
    with pytest.raises(ConfigError, match='iters'):
        fit_linear_probe(feats, labels, 3, iters=0)


def test_knn_scores_match_a_brute_force_vote():
    gen = torch.Generator().manual_seed(0)
    n, k, temp, stride = 3, 4, 0.5, 4
    train = [
        torch.randn(n, 3, 8, 8, generator=gen),
        torch.randn(n, 5, 4, 4, generator=gen)
    ]
    labels = torch.randint(0, 3, (n, 8, 8), generator=gen)
    test = [
        torch.randn(1, 3, 8, 8, generator=gen),
        torch.randn(1, 5, 4, 4, generator=gen)
    ]
    got = KNNTransfer(
        train, labels, 3, k=k, stride=stride, temperature=temp).scores(test)
    assert got.shape == (1, 3, 8, 8)

    # numpy: per-level train statistics, 2x2 grid of cell means, unit vectors
    def cells(levels, stats):
        parts = []
        for f, (m, s) in zip(levels, stats):
            z = (f.numpy() - m) / s
            b, c, h, w = z.shape
            z = z.reshape(b, c, 2, h // 2, 2, w // 2).mean(axis=(3, 5))
            z = z / np.linalg.norm(z, axis=1, keepdims=True)
            parts.append(z)
        v = np.concatenate(parts, 1) / math.sqrt(len(parts))
        return v.transpose(0, 2, 3,
                           1).reshape(-1, v.shape[1])  # rows: (slice, gy, gx)

    stats = []
    for f in train:
        a = f.numpy().transpose(1, 0, 2, 3).reshape(f.shape[1], -1)
        stats.append((a.mean(1)[None, :, None, None], a.std(1)[None, :, None,
                                                               None]))
    bank, query = cells(train, stats), cells(test, stats)
    onehot = np.eye(3)[labels.numpy()]  # (n, 8, 8, 3)
    expected = np.zeros((3, 8, 8))
    for qi, (gy, gx) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        sims = bank @ query[qi]
        top = np.argsort(-sims)[:k]
        w = np.exp(sims[top] / temp)
        w /= w.sum()
        for wj, j in zip(w, top):
            sl, cy, cx = j // 4, (j % 4) // 2, j % 2
            patch = onehot[sl, cy * 4:cy * 4 + 4,
                           cx * 4:cx * 4 + 4]  # (4, 4, 3)
            expected[:, gy * 4:gy * 4 + 4,
                     gx * 4:gx * 4 + 4] += wj * patch.transpose(2, 0, 1)
    assert np.allclose(got[0].numpy(), expected, atol=1e-5)
    with pytest.raises(ConfigError, match='stride'):
        KNNTransfer(train, labels, 3, stride=3)


def test_volume_dice_matches_hand_counts(tmp_path):
    gt = np.zeros((2, 6, 6), np.uint8)
    gt[:, 1:4, 1:4] = 3  # LV: 18 voxels
    gt[0, 5, 5] = 2  # Myo: 1 voxel; RV absent from both maps
    path = str(tmp_path / 'v_gt.npy')
    np.save(path, gt)
    pred = gt.copy()
    pred[1, 1, 1:4] = 0  # 3 LV voxels missed
    pred[0, 0, 0] = 3  # 1 LV voxel too many
    pred[0, 5, 5] = 0  # the Myo voxel missed
    metas = [
        dict(
            volume_id='v',
            slice_idx=k,
            num_slices=2,
            spacing=(1.0, 1.0, 1.0),
            seg_map_path=path,
            ori_shape=(6, 6)) for k in range(2)
    ]
    res = volume_dice([pred[1], pred[0]], [metas[1], metas[0]],
                      CLASSES)  # any order
    lv = 2 * 15 / (16 + 18)
    assert res['per_class']['LV'] == pytest.approx(lv)
    assert res['per_class']['Myo'] == 0.0
    assert math.isnan(res['per_class']['RV'])
    assert res['mDice'] == pytest.approx((lv + 0.0) / 2)  # NaN left out
    with pytest.raises(DataError, match='exactly once'):
        volume_dice([pred[0]], metas[:1], CLASSES)


# ------------------------------------------------------ phantom + command line


def _phantom_options(root: str, split_cfg: dict) -> List[str]:
    opts = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [
            f'{loader}.dataset.data_root={root}',
            f'{loader}.dataset.split_cfg.num_val={split_cfg["num_val"]}',
            f'{loader}.dataset.split_cfg.num_test={split_cfg["num_test"]}'
        ]
    return opts


def test_cli_writes_json_and_loads_an_export(tmp_path, phantom_root,
                                             phantom_split_cfg, capsys):
    from mmengine.config import Config

    from ideal_mm.engine.export_encoder import save_encoder
    cfg = Config.fromfile(SUP_CONFIG)
    # a stage-1 style export (without the full-resolution stage)
    net, _ = build_probe_encoder(cfg, 'random', seed=1)
    state = {
        k: v
        for k, v in net.state_dict().items() if not k.startswith('encoder.0.')
    }
    enc_path = save_encoder(state, str(tmp_path / 'encoder.pth'))
    loaded, info = build_probe_encoder(cfg, enc_path, seed=0)
    fresh, _ = build_probe_encoder(cfg, 'random', seed=0)
    assert info['missing_keys'] and all(
        k.startswith('encoder.0.') for k in info['missing_keys'])
    for key, value in loaded.state_dict().items():
        ref = state[key] if key in state else fresh.state_dict()[key]
        assert torch.equal(value, ref), key
    assert not loaded.training and not any(p.requires_grad
                                           for p in loaded.parameters())

    out = tmp_path / 'probe.json'
    argv = [
        SUP_CONFIG, enc_path, '--iters', '20', '--out',
        str(out), '--no-progress', '--cfg-options'
    ] + _phantom_options(phantom_root, phantom_split_cfg)
    assert tool.main(argv) == 0
    printed = capsys.readouterr().out
    assert 'linear' in printed and 'knn' in printed and 'mean' in printed
    result = json.loads(out.read_text())
    assert {
        'config', 'encoder', 'missing_keys', 'seconds', 'split', 'seed',
        'class_names', 'num_train_slices', 'num_test_slices', 'linear', 'knn'
    } <= set(result)
    assert result['encoder'] == os.path.abspath(enc_path)
    assert result['split'] == 'test' and result['class_names'] == list(CLASSES)
    for probe in ('linear', 'knn'):
        r = result[probe]
        assert {'mDice', 'per_class', 'cases', 'num_volumes'} <= set(r)
        assert set(r['per_class']) == set(CLASSES)
        assert r['num_volumes'] == 2 * phantom_split_cfg['num_test']  # ED + ES
        assert 0.0 <= r['mDice'] <= 1.0
    assert result['linear']['iters'] == 20 and result['knn']['stride'] == 8
    # the labelled train slices are those of label_budget=2 patients
    data = load_probe_data(
        _merged(phantom_root, phantom_split_cfg), 'test', progress=False)
    assert len(data.train) == result['num_train_slices']
    assert all(m['seg_map_path'] for m in data.train.metas)
    assert len({m['volume_id'][:10] for m in data.train.metas}) == 2


def _options_dict(root: str, split_cfg: dict) -> dict:
    opts = {}
    for item in _phantom_options(root, split_cfg):
        key, value = item.split('=', 1)
        opts[key] = int(value) if value.isdigit() else value
    return opts


def _merged(root: str, split_cfg: dict):
    from mmengine.config import Config
    cfg = Config.fromfile(SUP_CONFIG)
    cfg.merge_from_dict(_options_dict(root, split_cfg))
    return cfg


def test_bad_encoder_file_names_the_file(tmp_path, capsys):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(CheckpointError, match='nope.pth'):
        tool.main([SUP_CONFIG, missing])
    with pytest.raises(SystemExit) as exc:
        tool.run_cli(lambda: tool.main([SUP_CONFIG, missing]))
    assert exc.value.code == 1
    assert 'nope.pth' in capsys.readouterr().err
    from mmengine.config import Config
    cfg = Config.fromfile(SUP_CONFIG)
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint at all')
    with pytest.raises(CheckpointError, match='garbage.pth'):
        build_probe_encoder(cfg, str(garbage))
    no_backbone = str(tmp_path / 'head_only.pth')
    torch.save({'state_dict': {'decode_head.w': torch.zeros(1)}}, no_backbone)
    with pytest.raises(CheckpointError, match='head_only.pth.*backbone'):
        build_probe_encoder(cfg, no_backbone)
    other = str(tmp_path / 'other.pth')
    torch.save({'state_dict': {'backbone.foo.weight': torch.zeros(1)}}, other)
    with pytest.raises(CheckpointError, match='other.pth.*do not fit'):
        build_probe_encoder(cfg, other)


# ------------------------------------------------------------------- the hook


def _pretrain_cfg(tmp_path,
                  root: str,
                  split_cfg: dict,
                  max_iters: int,
                  hook: dict = None):
    from mmengine.config import Config
    cfg = Config.fromfile(PRETRAIN_CONFIG)
    ds = cfg.train_dataloader.dataset
    ds.data_root = root
    ds.split_cfg = split_cfg
    ds.progress = False
    ds.pipeline[1].out_size = (64, 64)
    cfg.train_dataloader.update(
        batch_size=2,
        num_workers=0,
        persistent_workers=False,
        pin_memory=False)
    cfg.train_cfg.max_iters = max_iters
    cfg.param_scheduler = []
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1000
    cfg.work_dir = str(tmp_path)
    cfg.env_cfg.cudnn_benchmark = False
    # mmengine keeps visualizers by name: a new name makes this run write its
    # own scalars.json
    run = os.path.basename(str(tmp_path))
    cfg.visualizer.name = f'probe_test_{run}_{id(cfg)}'
    cfg.custom_hooks = [
        h for h in cfg.custom_hooks if h['type'] != 'EncoderProbeHook'
    ]
    if hook is not None:
        cfg.custom_hooks.append(hook)
    return cfg


def test_hook_logs_probe_dice_at_its_interval(tmp_path, phantom_root,
                                              phantom_split_cfg):
    from mmengine.runner import Runner
    hook = dict(
        type='EncoderProbeHook',
        probe_config=SUP_CONFIG,
        interval=2,
        iters=10,
        cfg_options=_options_dict(phantom_root, phantom_split_cfg))
    cfg = _pretrain_cfg(tmp_path / 'probed', phantom_root, phantom_split_cfg,
                        3, hook)
    runner = Runner.from_cfg(cfg)
    runner.train()
    probe_hook = next(
        h for h in runner.hooks if type(h).__name__ == 'EncoderProbeHook')
    hub = runner.message_hub
    assert hub.get_scalar('probe/mDice').current() == pytest.approx(
        probe_hook.last_result['linear']['mDice'])
    for cls in CLASSES:
        assert f'probe/{cls}_Dice' in hub.log_scalars
    assert 'probe/knn_mDice' not in hub.log_scalars
    assert probe_hook.last_result['split'] == 'val'
    assert runner.model.backbone.training  # put back in train mode
    # scalars.json: a line at iteration 2 (interval) and at 3 (end of training)
    files = glob.glob(
        str(tmp_path / 'probed' / '*' / 'vis_data' / 'scalars.json'))
    assert len(files) == 1
    with open(files[0]) as f:
        lines = [json.loads(line) for line in f if 'probe/mDice' in line]
    assert [line['step'] for line in lines] == [2, 3]
    assert all(0.0 <= line['probe/mDice'] <= 1.0 for line in lines)

    # probing changes nothing in training: same weights as a run without the
    # hook
    plain = Runner.from_cfg(
        _pretrain_cfg(tmp_path / 'plain', phantom_root, phantom_split_cfg, 3))
    plain.train()
    for (k, a), (_, b) in zip(runner.model.state_dict().items(),
                              plain.model.state_dict().items()):
        assert torch.equal(a, b), k


def test_hook_rejects_bad_settings(tmp_path):
    from mmseg.registry import HOOKS
    with pytest.raises(ConfigError, match='probe_config.*does not exist'):
        HOOKS.build(
            dict(type='EncoderProbeHook', probe_config=str(tmp_path / 'x.py')))
    with pytest.raises(ConfigError, match='interval'):
        HOOKS.build(
            dict(type='EncoderProbeHook', probe_config=SUP_CONFIG, interval=0))
    with pytest.raises(ConfigError, match='split'):
        HOOKS.build(
            dict(
                type='EncoderProbeHook',
                probe_config=SUP_CONFIG,
                split='train'))


def test_hook_probes_on_the_main_process_only(monkeypatch):
    from types import SimpleNamespace

    from mmseg.registry import HOOKS

    import ideal_mm.engine.probe_hook as probe_hook
    hook = HOOKS.build(
        dict(type='EncoderProbeHook', probe_config=SUP_CONFIG, interval=1))
    monkeypatch.setattr(probe_hook, 'is_main_process', lambda: False)
    calls = []
    monkeypatch.setattr(probe_hook, 'load_probe_data',
                        lambda *a, **k: calls.append('load'))
    monkeypatch.setattr(probe_hook, 'probe_encoder',
                        lambda *a, **k: calls.append('probe'))
    runner = SimpleNamespace(
        model=SimpleNamespace(backbone=nn.Conv2d(1, 1, 1)), iter=0)
    hook.before_train(runner)
    hook.after_train_iter(runner, 0)
    hook.after_train(runner)
    assert calls == [] and hook.last_result is None
    with pytest.raises(ConfigError, match='backbone'):
        hook.before_train(SimpleNamespace(model=SimpleNamespace(), iter=0))
