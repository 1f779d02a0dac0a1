"""ideal_mm.apis.inference: init_model and segment_volume on NIfTI volumes.

The model is a tiny mmseg EncoderDecoder (UNet, random weights) saved as a
checkpoint in the test, so nothing depends on training.
"""
from __future__ import annotations

import copy
import os

import nibabel as nib
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
from ideal_mm.apis import init_model, segment_volume
from ideal_mm.apis.inference import build_inference_pipeline
from ideal_mm.errors import CheckpointError

META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'volume_id',
             'slice_idx', 'num_slices', 'spacing', 'labelled')


def tiny_config(pretrained: str = None) -> Config:
    """A 3-stage UNet (4 channels) + FCN head config with an ACDC test set."""
    backbone = dict(
        type='UNet',
        in_channels=1,
        base_channels=4,
        num_stages=3,
        strides=(1, 1, 1),
        enc_num_convs=(1, 1, 1),
        dec_num_convs=(1, 1),
        downsamples=(True, True),
        enc_dilations=(1, 1, 1),
        dec_dilations=(1, 1),
        norm_cfg=dict(type='BN'),
        upsample_cfg=dict(type='InterpConv'))
    if pretrained:
        backbone['init_cfg'] = dict(type='Pretrained', checkpoint=pretrained)
    test_pipeline = [
        dict(type='LoadACDCSlice', with_label=True),
        dict(type='Resize', scale=(32, 32), keep_ratio=False),
        dict(type='PackSegInputs', meta_keys=META_KEYS),
    ]
    return Config(
        dict(
            default_scope='mmseg',
            model=dict(
                type='EncoderDecoder',
                data_preprocessor=dict(
                    type='SegDataPreProcessor',
                    mean=None,
                    std=None,
                    bgr_to_rgb=False,
                    pad_val=0,
                    seg_pad_val=255),
                backbone=backbone,
                decode_head=dict(
                    type='FCNHead',
                    in_channels=4,
                    in_index=2,
                    channels=4,
                    num_convs=1,
                    concat_input=False,
                    num_classes=4,
                    norm_cfg=dict(type='BN'),
                    align_corners=False,
                    loss_decode=dict(type='CrossEntropyLoss')),
                train_cfg=dict(),
                test_cfg=dict(mode='whole')),
            test_pipeline=test_pipeline,
            test_dataloader=dict(
                batch_size=4,
                dataset=dict(
                    type='ACDCDataset',
                    data_root='data/ACDC',
                    split='test',
                    normalize='minmax',
                    pipeline=test_pipeline))))


def save_tiny_checkpoint(path: str, cfg: Config, seed: int = 0) -> str:
    """Build the model with random weights (non-trivial BN stats), save it."""
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg.model))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def make_nifti(path: str,
               shape=(40, 36, 5),
               zooms=(1.4, 1.3, 8.0),
               seed: int = 0) -> nib.Nifti1Image:
    """A NIfTI frame with a rotated affine, distinct qform/sform codes."""
    rng = np.random.default_rng(seed)
    data = rng.normal(100, 30, size=shape).astype(np.float32)
    xx, yy = np.meshgrid(
        np.arange(shape[0]), np.arange(shape[1]), indexing='ij')
    disk = (xx - shape[0] / 2)**2 + (yy - shape[1] / 3)**2 < 60
    data[disk] += 300
    affine = np.array([[0.0, -zooms[1], 0.0, 12.0],
                       [zooms[0], 0.0, 0.0, -30.0], [0.0, 0.0, zooms[2], 5.0],
                       [0.0, 0.0, 0.0, 1.0]])
    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units('mm', 'sec')
    image.set_qform(affine, code=1)
    sform = affine.copy()
    sform[0, 3] += 1.5
    image.set_sform(sform, code=2)
    nib.save(image, path)
    return nib.load(path)


@pytest.fixture(scope='module')
def tiny_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp('tiny_model')
    cfg = tiny_config()
    ckpt = save_tiny_checkpoint(str(folder / 'tiny.pth'), cfg)
    return init_model(cfg, ckpt, device='cpu')


@pytest.fixture
def volume_file(tmp_path) -> str:
    path = str(tmp_path / 'case01.nii.gz')
    make_nifti(path)
    return path


def test_init_model_ignores_missing_pretrained_encoder(tmp_path):
    ckpt = save_tiny_checkpoint(str(tmp_path / 'a.pth'), tiny_config())
    cfg = tiny_config(pretrained=str(tmp_path / 'missing_encoder.pth'))
    model = init_model(cfg, ckpt)
    assert not model.training
    assert model.dataset_meta['classes'] == ('background', 'RV', 'Myo', 'LV')
    assert len(model.dataset_meta['palette']) == 4
    saved = torch.load(ckpt)['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_init_model_rejects_other_architecture(tmp_path):
    cfg = tiny_config()
    ckpt = save_tiny_checkpoint(str(tmp_path / 'a.pth'), cfg)
    other = tiny_config()
    other.model.decode_head.num_convs = 2
    with pytest.raises(CheckpointError, match='unexpected keys|missing keys'):
        init_model(other, ckpt)
    with pytest.raises(CheckpointError, match='does not exist'):
        init_model(cfg, str(tmp_path / 'nope.pth'))
    bad = tmp_path / 'corrupt.pth'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointError, match='cannot read .*corrupt.pth'):
        init_model(cfg, str(bad))


def test_pipeline_drops_only_loading(tiny_model):
    pipeline = build_inference_pipeline(tiny_model.cfg)
    names = [type(t).__name__ for t in pipeline.transforms]
    assert names == ['Resize', 'PackSegInputs']


def test_segment_volume_shape_labels_and_probs(tiny_model, volume_file):
    image = nib.load(volume_file)
    labels, probs = segment_volume(
        tiny_model, volume_file, batch_size=2, return_probs=True)
    assert labels.dtype == np.uint8
    assert labels.shape == image.shape
    assert set(np.unique(labels)) <= {0, 1, 2, 3}
    assert probs.shape == (4, ) + image.shape
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(labels, probs.argmax(axis=0))
    # an in-memory image gives the same result, and so does batch size 1
    same = segment_volume(tiny_model, image, batch_size=1)
    np.testing.assert_array_equal(same, labels)


def test_segment_volume_matches_slice_by_slice_model(tiny_model, volume_file):
    """Independent check of the preprocessing: min-max normalise, resize to
    32x32, forward, resize logits back (bilinear), softmax."""
    import torch.nn.functional as F
    data = nib.load(volume_file).get_fdata().astype(np.float32)
    norm = (data - data.min()) / (data.max() - data.min())
    _, probs = segment_volume(tiny_model, volume_file, return_probs=True)
    import cv2
    for z in range(data.shape[2]):
        small = cv2.resize(
            norm[:, :, z], (32, 32), interpolation=cv2.INTER_LINEAR)
        x = torch.from_numpy(small)[None, None]
        with torch.no_grad():
            logits = tiny_model.encode_decode(x, [dict(img_shape=(32, 32))])
        logits = F.interpolate(
            logits, size=data.shape[:2], mode='bilinear', align_corners=False)
        expected = logits.softmax(dim=1)[0].numpy()
        np.testing.assert_allclose(probs[..., z], expected, atol=1e-4)


def test_tta_is_mean_of_flipped_predictions(tiny_model, volume_file, tmp_path):
    image = nib.load(volume_file)
    data = np.asarray(image.dataobj)
    _, p_id = segment_volume(tiny_model, image, return_probs=True)
    flipped = {}
    for axis in (0, 1):  # NIfTI X (slice rows) and Y (slice columns)
        img = nib.Nifti1Image(
            np.flip(data, axis=axis).copy(), image.affine, image.header)
        _, p = segment_volume(tiny_model, img, return_probs=True)
        flipped[axis] = np.flip(p, axis=axis + 1)
    expected = (p_id + flipped[0] + flipped[1]) / 3.0
    labels, probs = segment_volume(
        tiny_model, image, tta=True, return_probs=True)
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    np.testing.assert_array_equal(labels, expected.argmax(axis=0))
    assert not np.allclose(probs, p_id, atol=1e-4)  # flips changed something


def test_zscore_normalisation_from_config(tiny_model, volume_file):
    cfg = copy.deepcopy(tiny_model.cfg)
    cfg.test_dataloader.dataset.normalize = 'zscore'
    model = copy.deepcopy(tiny_model)
    model.cfg = cfg
    _, p_minmax = segment_volume(tiny_model, volume_file, return_probs=True)
    _, p_z = segment_volume(model, volume_file, return_probs=True)
    assert not np.allclose(p_minmax, p_z)
    assert os.path.isfile(volume_file)
