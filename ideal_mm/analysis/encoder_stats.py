"""Per-level feature statistics of encoders on real slices: is a pre-trained
encoder a better starting point than random weights, and where is it not?

CONFIG gives the encoder (``model.backbone`` or
``model.segmentor.backbone``) and the slices (the dataset of
``test_dataloader``, ``val_dataloader`` or ``train_dataloader``, by
``--split``; its pipeline is used as it is). Every ENCODER (an exported
``encoder.pth`` or any checkpoint with ``backbone.*`` keys) is loaded into
that encoder; the first row is always the encoder with the config's own
random initialisation (``--seed``). The features of ``--num-slices`` evenly
spaced slices are computed with batch-statistics BatchNorm (train mode, no
gradient), as at the first step of fine-tuning.

Per level it prints:

* ``erank``: effective rank of the features (Roy & Vetterli 2007): with
  the singular values :math:`s_i` of the centred (channels x pixels) matrix
  and :math:`p_i = s_i^2 / \\sum_j s_j^2`, :math:`\\exp(-\\sum_i p_i \\log
  p_i)`; between 1 (all channels carry one signal) and the channel count.
  Low values mean the level's channels are redundant (dimensional collapse).
* ``dead``: channels that are > 0 at under 1 % of the pixels.
* ``hf``: share of the feature energy above the spatial low-pass
  (:math:`\\|f - \\mathrm{box}_{3\\times3}(f)\\|^2 / \\|f - \\bar f\\|^2`,
  :math:`\\bar f` the per-channel mean): how much pixel-scale detail the level
  keeps, which a UNet decoder's skip connection at that level passes on.

mmseg and mmengine have no such report; it is what located the stage-1
problem described in docs/paper_to_code.md (issue #4).
``tools/analysis/encoder_diagnostics.py`` is the command line.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F

from ideal_mm.errors import ConfigError

__all__ = [
    'effective_rank', 'high_frequency_share', 'level_stats', 'diagnose',
    'format_report'
]


def effective_rank(features: torch.Tensor) -> float:
    """Effective rank of (C, N) features (channels x samples), centred."""
    if features.dim() != 2:
        raise ValueError(
            f'features must be (C, N), got {tuple(features.shape)}')
    centred = features.double() - features.double().mean(1, keepdim=True)
    s = torch.linalg.svdvals(centred)
    energy = s.pow(2)
    total = float(energy.sum())
    if total <= 0:
        return 0.0
    p = energy[energy > 0] / total
    return float(torch.exp(-(p * p.log()).sum()))


def high_frequency_share(feat: torch.Tensor) -> float:
    """Energy of ``feat - box3x3(feat)`` over the energy of ``feat - mean``
    for (B, C, H, W) features (replicate padding at the border)."""
    f = feat.double()
    padded = F.pad(f.flatten(0, 1)[:, None], (1, 1, 1, 1), mode='replicate')
    low = F.avg_pool2d(padded, 3, stride=1).reshape(f.shape)
    centred = f - f.mean(dim=(0, 2, 3), keepdim=True)
    total = float(centred.pow(2).sum())
    return float((f - low).pow(2).sum()) / total if total > 0 else 0.0


def level_stats(feats: Sequence[torch.Tensor]) -> List[Dict[str, float]]:
    """``erank``, ``dead``, ``channels``, ``hf`` and the grid size per
    level."""
    rows = []
    for feat in feats:
        flat = feat.transpose(0, 1).flatten(1)  # (C, B*H*W)
        active = (flat > 0).double().mean(1)
        rows.append(
            dict(
                channels=flat.shape[0],
                size=tuple(feat.shape[-2:]),
                erank=effective_rank(flat),
                dead=int((active < 0.01).sum()),
                hf=high_frequency_share(feat)))
    return rows


def _slices(cfg, split: str, num: int) -> torch.Tensor:
    """``num`` evenly spaced (C, H, W) inputs of the split's dataset,
    stacked."""
    from mmseg.registry import DATASETS
    key = f'{split}_dataloader'
    loader = cfg.get(key)
    if not loader or not loader.get('dataset'):
        raise ConfigError(f'{key}.dataset is not set in the config; pick '
                          f'another --split (test, val or train)')
    dataset = DATASETS.build(loader['dataset'])
    if len(dataset) == 0:
        raise ConfigError(f'{key}.dataset has no slices')
    step = max(1, len(dataset) // num)
    images = []
    for index in list(range(0, len(dataset), step))[:num]:
        sample = dataset[index]
        inputs = sample['inputs']
        if inputs.dim() != 3:
            raise ConfigError(
                f'{key}: expected (C, H, W) inputs from PackSegInputs, got '
                f'{tuple(inputs.shape)}')
        images.append(inputs.float())
    shapes = {tuple(i.shape) for i in images}
    if len(shapes) != 1:
        raise ConfigError(
            f'{key}: slices of different sizes {sorted(shapes)}; give a '
            f'pipeline with a fixed Resize')
    return torch.stack(images)


def diagnose(cfg,
             encoders: Sequence[str],
             num_slices: int = 32,
             seed: int = 0,
             split: str = 'test') -> List[Dict[str, object]]:
    """One entry per encoder (random init first): name and level stats."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from ideal_mm.compat.checkpoint import load_checkpoint_file
    from ideal_mm.engine.export_encoder import extract_backbone
    from ideal_mm.model_config import encoder_config

    init_default_scope(cfg.get('default_scope', 'mmseg'))
    backbone_cfg = encoder_config(cfg.get('model'))
    if not backbone_cfg:
        raise ConfigError('model.backbone (or model.segmentor.backbone) is '
                          'not set in the config')
    backbone_cfg = backbone_cfg.copy()
    backbone_cfg.pop('init_cfg', None)
    images = _slices(cfg, split, num_slices)
    results = []
    for name in [None, *encoders]:
        torch.manual_seed(seed)
        encoder = MODELS.build(backbone_cfg)
        encoder.init_weights()
        if name is not None:
            state = extract_backbone(load_checkpoint_file(name), source=name)
            missing, unexpected = encoder.load_state_dict(state, strict=False)
            if unexpected:
                raise ConfigError(
                    f'{name}: {len(unexpected)} keys do not fit '
                    f'model.backbone (e.g. {unexpected[0]}); give the '
                    f'config the encoder was trained with')
        encoder.train()
        with torch.no_grad():
            feats = encoder(images)
        if isinstance(feats, torch.Tensor):
            feats = [feats]
        label = f'random init (seed {seed})' if name is None else name
        results.append(
            dict(
                name=label,
                levels=level_stats(feats),
                missing=0 if name is None else len(missing)))
    return results


def format_report(results: Sequence[Dict[str, object]]) -> str:
    """A text table: one line per encoder and level."""
    lines = [
        f'{"encoder":<48} {"level":>5} {"grid":>9} {"C":>4} '
        f'{"erank":>7} {"dead":>5} {"hf":>6}'
    ]
    for res in results:
        for i, lv in enumerate(res['levels']):
            grid = 'x'.join(str(v) for v in lv['size'])
            name = res['name'] if i == 0 else ''
            if len(name) > 48:
                name = '...' + name[-45:]
            lines.append(f'{name:<48} {i:>5} {grid:>9} {lv["channels"]:>4} '
                         f'{lv["erank"]:>7.1f} {lv["dead"]:>5} '
                         f'{lv["hf"]:>6.3f}')
        if res['missing']:
            lines.append(f'{"":<48} ({res["missing"]} encoder keys not in '
                         'the file kept their random values)')
    return '\n'.join(lines)
