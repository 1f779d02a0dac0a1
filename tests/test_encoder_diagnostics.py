"""tools/analysis/encoder_diagnostics.py: effective rank, high-frequency
share against independent computations, and the CLI on phantom slices."""
from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest
import torch

import ideal_mm  # noqa: F401
from ideal_mm.analysis import encoder_stats
from ideal_mm.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    'ideal_mm_tool_encoder_diagnostics',
    os.path.join(REPO, 'tools/analysis/encoder_diagnostics.py'))
diag = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = diag
_spec.loader.exec_module(diag)


def test_effective_rank_matches_entropy_of_singular_values():
    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    v, _ = np.linalg.qr(rng.standard_normal((200, 6)))
    s = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.1])
    x = u @ np.diag(s) @ v.T
    x -= x.mean(1, keepdims=True)  # centred already, so s are its values
    s = np.linalg.svd(x, compute_uv=False)
    p = s**2 / (s**2).sum()
    expected = float(np.exp(-(p * np.log(p)).sum()))
    assert encoder_stats.effective_rank(torch.from_numpy(x)) == pytest.approx(
        expected, rel=1e-9)
    # one signal copied into 8 channels (plus per-channel offsets): rank 1
    one = torch.randn(1, 500).repeat(8, 1) * torch.arange(1, 9)[:, None] + 3
    assert encoder_stats.effective_rank(one) == pytest.approx(1.0, abs=1e-6)
    # independent channels: close to the channel count
    assert encoder_stats.effective_rank(torch.randn(8, 20000)) > 7.9


def test_high_frequency_share_matches_a_numpy_box_filter():
    rng = np.random.default_rng(1)
    f = rng.standard_normal((2, 3, 7, 9))
    pad = np.pad(f, ((0, 0), (0, 0), (1, 1), (1, 1)), mode='edge')
    low = np.zeros_like(f)
    for dy in range(3):
        for dx in range(3):
            low += pad[:, :, dy:dy + 7, dx:dx + 9] / 9
    centred = f - f.mean(axis=(0, 2, 3), keepdims=True)
    expected = ((f - low)**2).sum() / (centred**2).sum()
    assert encoder_stats.high_frequency_share(
        torch.from_numpy(f)) == pytest.approx(
            expected, rel=1e-9)
    smooth = torch.linspace(0, 1, 16).repeat(1, 1, 16, 1)  # a ramp: low-pass
    assert encoder_stats.high_frequency_share(smooth) < 0.01


def test_cli_reports_a_low_pass_first_stage(tmp_path, phantom_root,
                                            phantom_split_cfg, capsys):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from ideal_mm.engine.export_encoder import save_encoder
    config = os.path.join(REPO, 'configs/demo/supervised_unetenc_phantom.py')
    options = [
        '--cfg-options', f'test_dataloader.dataset.data_root={phantom_root}',
        f'test_dataloader.dataset.split_cfg.num_val='
        f'{phantom_split_cfg["num_val"]}',
        f'test_dataloader.dataset.split_cfg.num_test='
        f'{phantom_split_cfg["num_test"]}'
    ]
    # an encoder whose first convolution is a 3x3 box filter in every channel
    init_default_scope('mmseg')
    torch.manual_seed(0)
    encoder = MODELS.build(Config.fromfile(config).model.backbone)
    encoder.init_weights()
    state = encoder.state_dict()
    key = 'encoder.0.0.convs.0.conv.weight'
    state[key] = torch.full_like(state[key], 1 / 9)
    path = save_encoder(state, str(tmp_path / 'lowpass.pth'))
    assert diag.main([config, path, '--num-slices', '8'] + options) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    table = lines[next(
        i for i, line in enumerate(lines) if line.startswith('encoder ')) + 1:]
    rows = [line.split() for line in table if line.strip()]
    random_l0 = next(r for r in rows if r[0] == 'random')
    low_l0 = next(r for r in rows if r[0].endswith('lowpass.pth'))
    # columns from the end: level grid C erank dead hf
    assert random_l0[-6:-3] == ['0', '96x96', '16']
    # one input signal, spread by the second conv + ReLU only
    assert float(low_l0[-3]) < 3.0 < float(random_l0[-3])
    assert float(low_l0[-1]) < float(random_l0[-1])
    assert len(rows) == 10  # 5 levels x 2 encoders
    with pytest.raises(ConfigError, match='does not exist'):
        diag.main([config, str(tmp_path / 'missing.pth')])
