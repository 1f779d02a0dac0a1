"""Study-spec ``model_width`` / ``input_size`` helpers
(ideal_mm/engine/model_width.py): every arm of the long study builds at the
scaled width and runs a loss step at 48x48."""
import copy

import pytest
import torch

from ideal_mm.engine.model_width import fit_size_divisor, scale_model_width
from ideal_mm.errors import ConfigError

ARMS = [
    'configs/demo/supervised_unetenc_phantom_from_ideal.py',
    'configs/demo/supervised_unetenc_phantom.py',
    'configs/demo/ideal_unet_phantom_finetune.py',
    'configs/demo/ideal_unet_phantom_pretrain.py',
    'configs/demo/cps_unet_phantom.py',
    'configs/demo/ideal_bcp_unet_phantom.py',
    'configs/demo/unimatch_unet_phantom.py'
]


def _convs(model):
    return {
        n: m.weight.shape
        for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)
    }


@pytest.mark.parametrize('config', ARMS)
def test_every_long_study_arm_scales_to_width_8(config):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from ideal_mm import register_all_modules
    register_all_modules()
    init_default_scope('mmseg')
    cfg = Config.fromfile(config)
    wide = MODELS.build(copy.deepcopy(cfg.model))
    model_cfg = cfg.model.to_dict()
    scale_model_width(model_cfg, 8)
    fit_size_divisor(model_cfg, (48, 48))
    narrow = MODELS.build(model_cfg)
    a, b = _convs(wide), _convs(narrow)
    assert a.keys() == b.keys()
    halved = 0
    for name, shape in a.items():
        out_w, in_w = shape[:2]
        out_n, in_n = b[name][:2]
        # every conv reading the image keeps 1 input channel; every conv
        # is at most as wide as before, most exactly half
        assert in_n <= in_w and out_n <= out_w, name
        halved += (out_n * 2 == out_w)
    assert halved >= len(a) // 2
    pre = model_cfg.get('data_preprocessor', {})
    if pre.get('size_divisor'):
        assert 48 % pre['size_divisor'] == 0
    backbone = getattr(narrow, 'student', narrow)
    backbone = getattr(backbone, 'backbone', None) or narrow.backbone
    feats = backbone(torch.zeros(2, 1, 48, 48))
    assert [f.shape[1] for f in feats] == [8, 16, 32, 64, 128]
    assert [f.shape[-1] for f in feats] == [48, 24, 12, 6, 3]


def test_scale_errors_name_the_key():
    with pytest.raises(ConfigError, match='no encoder|none'):
        scale_model_width(dict(decode_head=dict(in_channels=16)), 8)
    two = dict(a=dict(base_channels=16), b=dict(base_channels=32))
    with pytest.raises(ConfigError, match='different widths'):
        scale_model_width(two, 8)
    odd = dict(
        backbone=dict(base_channels=16),
        decode_head=dict(in_channels=[16, 24], num_classes=4, channels=16))
    with pytest.raises(ConfigError, match=r'decode_head.in_channels'):
        scale_model_width(odd, 5)


def test_fit_size_divisor():
    m = dict(data_preprocessor=dict(size_divisor=32))
    assert fit_size_divisor(m, (48, 48)) == 16
    assert m['data_preprocessor']['size_divisor'] == 16
    assert fit_size_divisor(m, (64, 64)) is None
    assert fit_size_divisor(dict(), (48, 48)) is None
