"""The one config walk (ideal_mm.engine.config_walk), the config edits built
on it, the benchmark's config helpers and the shared model base configs."""
from __future__ import annotations

import os.path as osp

from mmengine.config import Config, ConfigDict

import ideal_mm  # noqa: F401
from ideal_mm.engine.benchmark import (labelled_count, pipeline_crop,
                                       set_pipeline_crop)
from ideal_mm.engine.config_edits import add_hook_once, set_prediction_dir
from ideal_mm.engine.config_walk import (dataloader_datasets, drop_pretrained,
                                         evaluator_metrics, iter_dicts,
                                         iter_init_cfgs, iter_key, iter_types)
from ideal_mm.model_config import encoder_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _model():
    return dict(
        type='M',
        backbone=dict(
            type='B',
            pretrained='enc.pth',
            init_cfg=dict(type='Pretrained', checkpoint='a.pth')),
        heads=[
            dict(
                type='H',
                loss=[dict(type='L1'), dict(type='L2')],
                init_cfg=[
                    dict(type='Normal'),
                    dict(type='Pretrained', checkpoint='b.pth')
                ])
        ],
        split_cfg=dict(type='seeded'))


def test_paths_are_cfg_options_keys():
    paths = [p for p, _ in iter_dicts(_model(), 'model')]
    assert paths[:3] == ['model', 'model.backbone', 'model.backbone.init_cfg']
    assert 'model.heads[0].loss[1]' in paths
    types = dict(iter_types(_model(), 'model', skip=('split_cfg', )))
    assert types['model.heads[0].loss[1]'] == 'L2'
    assert 'model.split_cfg' not in types
    assert [k for k, _ in iter_init_cfgs(_model())] == [
        'model.backbone.init_cfg', 'model.heads[0].init_cfg',
        'model.heads[0].init_cfg'
    ]
    assert list(iter_key({'a': [{
        'b': 1
    }, {
        'c': {
            'b': 2
        }
    }]}, 'b', 'x')) == [('x.a[0].b', 1), ('x.a[1].c.b', 2)]


def test_drop_pretrained_keeps_other_initialisers():
    model = _model()
    drop_pretrained(model)
    assert model['backbone']['init_cfg'] is None
    assert model['backbone']['pretrained'] is None
    assert model['heads'][0]['init_cfg'] == [dict(type='Normal')]


def test_dataloader_datasets_follow_wrappers_in_order():
    loader = dict(
        dataset=dict(
            type='ConcatDataset',
            datasets=[
                dict(type='A', pipeline=[dict(type='T', dataset='x')]),
                dict(type='Wrap', dataset=dict(type='B', pipeline=[]))
            ]))
    assert [d['type'] for d in dataloader_datasets(loader)
            ] == ['ConcatDataset', 'A', 'Wrap', 'B']


def test_evaluator_metrics_and_prediction_dir():
    cfg = Config(
        dict(
            test_evaluator=dict(
                type='Evaluator',
                metrics=[
                    dict(type='ACDCVolumeMetric'),
                    dict(type='IoUMetric')
                ])))
    set_prediction_dir(cfg, '/tmp/preds')
    metrics = evaluator_metrics(cfg.test_evaluator)
    assert [m.get('pred_dir') for m in metrics] == ['/tmp/preds', None]
    assert evaluator_metrics(None) == []


def test_add_hook_once():
    cfg = Config(dict(custom_hooks=[dict(type='A')]))
    add_hook_once(cfg, 'B', priority='LOW')
    add_hook_once(cfg, 'B')
    add_hook_once(cfg, 'A')
    assert [h['type'] for h in cfg.custom_hooks] == ['A', 'B']
    assert cfg.custom_hooks[1]['priority'] == 'LOW'


def test_pipeline_size_from_transform_signatures():
    pipeline = [
        dict(type='LoadACDCSlice'),
        dict(type='RandomAffineResize'),  # out_size default
        dict(type='RandomCrop', crop_size=(8, 8))
    ]
    assert pipeline_crop(pipeline) == (256, 256)
    set_pipeline_crop(pipeline, (32, 48))
    assert pipeline[1]['out_size'] == (32, 48)
    assert pipeline[2]['crop_size'] == (32, 48)
    resize = [dict(type='Resize', scale=(40, 30))]
    assert pipeline_crop(resize) == (30, 40)  # mmseg's scale is (w, h)


def test_labelled_count_is_the_samplers_split():

    def cfg(batch, ratio):
        return ConfigDict(
            train_dataloader=dict(
                sampler=dict(
                    type='SemiSupMultiSourceSampler',
                    batch_size=batch,
                    source_ratio=ratio)))

    assert labelled_count(cfg(24, [12, 12]), 24) == 12
    assert labelled_count(cfg(5, [1, 1]), 5) == 3  # source 0 gets the rest
    assert labelled_count(cfg(6, [1, 2]), 6) == 2
    assert labelled_count(ConfigDict(train_dataloader=dict()), 7) == 7


def test_configs_share_the_ideal_encoder():
    """unet_acdc (stage 2), the mean teacher, unet_acdc_pretrain (stage 1)
    and unet_fcn (the supervised UNet) take the encoder from
    _base_/models/ideal_unet_encoder."""

    def backbone(path):
        model = Config.fromfile(osp.join(REPO, path)).model
        b = encoder_config(model).to_dict()
        b.pop('init_cfg', None)
        b.pop('type')
        return b

    base = backbone('configs/_base_/models/ideal_unet_encoder.py')
    for path in ('configs/ideal/unet_acdc.py',
                 'configs/baselines/mean_teacher_unet_1xb24-30k_acdc-7pat.py',
                 'configs/ideal/unet_acdc_pretrain.py',
                 'configs/_base_/models/unet_fcn.py'):
        assert backbone(path) == base, path
    two = Config.fromfile(
        osp.join(REPO,
                 'configs/_base_/models/ideal_unet_two_decoders.py')).model
    assert two.segmentor.decode_head.upsample_mode == 'bilinear'
    assert two.decode_head_2.upsample_mode == 'deconv'
    assert two.segmentor.decode_head.norm_cfg == dict(
        type='BN', requires_grad=True)
    assert 'backbone' not in two  # the encoder lives in the student
    mt = Config.fromfile(
        osp.join(REPO, 'configs/_base_/models/mean_teacher_unet.py')).model
    assert mt.segmentor.decode_head == two.segmentor.decode_head
