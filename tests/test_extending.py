"""The semi-supervised method in docs/extending.md works as written: it
registers, builds, splits the batch through the base class and computes its
losses; a bad key is refused by the base."""
import os.path as osp
import re

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from semi_helpers import BN, plain_preprocessor, tiny_unet_encoder

from ideal_mm.errors import ConfigError

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
init_default_scope('mmseg')


@pytest.fixture(scope='module')
def method_cls():
    with open(osp.join(REPO, 'docs', 'extending.md')) as f:
        code = re.search(r'```python\n(.*?)```', f.read(), re.S).group(1)
    assert len(code.splitlines()) < 30
    if 'SelfTrainingSemiSupModel' not in MODELS.module_dict:
        exec(compile(code, 'docs/extending.md', 'exec'), {})
    return MODELS.get('SelfTrainingSemiSupModel')


def build(**semi):
    return MODELS.build(
        dict(
            type='SelfTrainingSemiSupModel',
            data_preprocessor=plain_preprocessor(),
            segmentor=dict(
                backbone=tiny_unet_encoder(),
                decode_head=dict(
                    type='UNetDecoderHead',
                    in_channels=[4, 8, 16],
                    channels=4,
                    num_classes=4,
                    norm_cfg=BN,
                    dropout_ratio=0.0,
                    loss_decode=dict(type='CrossEntropyLoss'))),
            semi_train_cfg=dict(max_consistency_weight=0.5, **semi)))


def test_documented_method_trains_through_the_base(method_cls):
    MessageHub.get_current_instance().update_info('iter', 0)
    torch.manual_seed(0)
    model = build(conf_threshold=0.3)
    inputs = torch.randn(4, 1, 16, 16)
    samples = []
    for i in range(4):
        s = SegDataSample(
            metainfo=dict(img_shape=(16, 16), ori_shape=(16, 16)))
        if i < 2:
            s.gt_sem_seg = PixelData(data=torch.randint(0, 4, (1, 16, 16)))
        samples.append(s)
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        z = model.student.decode_head.forward(
            model.student.extract_feat(inputs))
        p = z[2:].softmax(1)
        y = p.argmax(1)
        y[p.max(1).values < 0.3] = 255
        expected = 0.5 * F.cross_entropy(z[2:], y, ignore_index=255)
    assert torch.allclose(losses['unsup.loss_self'], expected, atol=1e-5)
    assert float(losses['unsup.weight']) == 0.5
    assert 'sup.loss_ce' in losses
    preds = model.predict(inputs, samples)
    assert preds[0].pred_sem_seg.data.shape == (1, 16, 16)


def test_documented_method_keys_are_checked(method_cls):
    with pytest.raises(ConfigError, match='unknown model.semi_train_cfg keys'):
        build(threshold=0.3)
