"""browse_dataset on the phantom: one config of each kind.

The stage-1 lines are checked against an independent computation from the
two-view transform's recorded matrices: a query cell centre p (on the
encoder's cell grid) must be drawn joined to ``A_k @ inv(A_q) @ p``, and a
cell marked invalid must really fall outside the slice, the key view or the
key grid.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from ideal_mm.analysis.browse import browse_dataset, model_mixes
from ideal_mm.errors import ConfigError

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _opts(root, split_cfg, cache, split='train'):
    return {
        f'{split}_dataloader.dataset.data_root': root,
        f'{split}_dataloader.dataset.split_cfg': split_cfg,
        f'{split}_dataloader.dataset.cache_dir': cache,
        f'{split}_dataloader.dataset.progress': False
    }


@pytest.fixture(scope='module')
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp('browse_cache'))


def _png(path):
    img = cv2.imread(path)
    assert img is not None and img.ndim == 3 and min(img.shape[:2]) > 30
    return img


def test_supervised_test_split(phantom_root, phantom_split_cfg, cache,
                               tmp_path):
    out = str(tmp_path / 'sup')
    written = browse_dataset(
        osp.join(REPO, 'configs/demo/supervised_unet_phantom.py'),
        out,
        num=3,
        split='test',
        log=lambda s: None,
        cfg_options=_opts(phantom_root, phantom_split_cfg, cache, 'test'))
    assert len(written) == 4 and written[-1] == osp.join(out, 'montage.png')
    assert sorted(os.listdir(out)) == sorted(osp.basename(p) for p in written)
    for path in written[:-1]:
        assert osp.basename(path).split('_', 1)[1].startswith('patient')
        _png(path)
    # the montage holds every picture
    assert _png(written[-1]).shape[0] * _png(written[-1]).shape[1] >= \
        3 * _png(written[0]).shape[0] * _png(written[0]).shape[1] * 0.9


def test_pretrain_lines_follow_the_transform(phantom_root, phantom_split_cfg,
                                             cache, tmp_path):
    out = str(tmp_path / 'pre')
    written = browse_dataset(
        osp.join(REPO, 'configs/demo/ideal_unet_phantom_pretrain.py'),
        out,
        num=3,
        log=lambda s: None,
        cfg_options=_opts(phantom_root, phantom_split_cfg, cache))
    records = sorted(p for p in os.listdir(out) if p.endswith('.json'))
    assert len(records) == 3 and len(written) == 4
    total_lines = total_invalid = 0
    for name in records:
        with open(osp.join(out, name)) as f:
            rec = json.load(f)
        aq, ak = np.array(rec['affine_q']), np.array(rec['affine_k'])
        src_h, src_w = rec['src_shape']
        h, w = rec['view_shape']
        hg, wg = rec['grid_shape']
        # the demo UNet: its declared geometry, stride 8, offset 3.5
        assert rec['stride'] == [8.0, 8.0] and rec['offset'] == [3.5, 3.5]
        sy, sx = rec['stride']
        oy, ox = rec['offset']
        lines = np.array(rec['lines']).reshape(-1, 4)
        invalid = np.array(rec['invalid']).reshape(-1, 2)
        assert len(lines) == min(24, hg * wg - len(invalid))
        # query points are cell centres of the grid
        for pts in (lines[:, :2], invalid):
            cols = (pts[:, 0] - ox) / sx
            rows = (pts[:, 1] - oy) / sy
            np.testing.assert_allclose(cols, np.round(cols), atol=1e-9)
            np.testing.assert_allclose(rows, np.round(rows), atol=1e-9)
            assert cols.min() >= 0 and cols.max() <= wg - 1
        # key end = A_k inv(A_q) p, computed here with numpy
        m = ak @ np.linalg.inv(aq)
        p = np.c_[lines[:, :2], np.ones(len(lines))]
        np.testing.assert_allclose(lines[:, 2:], (p @ m.T)[:, :2], atol=1e-4)
        # an invalid cell is outside the slice, the key view or the key grid
        pi = np.c_[invalid, np.ones(len(invalid))]
        src = pi @ np.linalg.inv(aq).T
        key = pi @ m.T
        inside = ((src[:, 0] >= 0) & (src[:, 0] <= src_w - 1) &
                  (src[:, 1] >= 0) & (src[:, 1] <= src_h - 1) &
                  (key[:, 0] >= ox) & (key[:, 0] <= ox + sx * (wg - 1)) &
                  (key[:, 1] >= oy) & (key[:, 1] <= oy + sy * (hg - 1)) &
                  (key[:, 0] <= w - 1) & (key[:, 1] <= h - 1))
        assert not inside.any()
        # and every valid drawn cell satisfies it
        src_v = p @ np.linalg.inv(aq).T
        assert ((src_v[:, 0] >= 0) & (src_v[:, 0] <= src_w - 1)).all()
        total_lines += len(lines)
        total_invalid += len(invalid)
    assert total_lines > 0 and total_invalid > 0  # both kinds were drawn


def _semi_opts(phantom_root, phantom_split_cfg, cache):
    opts = _opts(phantom_root, phantom_split_cfg, cache)
    # every branch that mixes, with a box each time
    opts['model.unsup_branches'] = [
        dict(type='StrongViewPseudoLabel', num_views=1, cutmix_prob=1.0),
        dict(type='FeaturePerturbation', p=0.5),
        dict(type='BidirectionalCopyPaste', prob=1.0, ratio=0.5)
    ]
    return opts


def test_semi_pictures(phantom_root, phantom_split_cfg, cache, tmp_path):
    out = str(tmp_path / 'semi')
    written = browse_dataset(
        osp.join(REPO, 'configs/demo/ideal_unimatch_unet_phantom.py'),
        out,
        num=2,
        log=lambda s: None,
        cfg_options=_semi_opts(phantom_root, phantom_split_cfg, cache))
    names = [osp.basename(p) for p in written]
    assert sum(n.endswith('_labelled.png') for n in names) == 2
    assert sum(n.endswith('_unlabelled.png') for n in names) == 2
    assert sum(n.startswith('copy_paste_') for n in names) == 2
    assert names[-1] == 'montage.png'
    for path in written:
        _png(path)


def test_model_mixes_cutmix_and_copy_paste(phantom_root, phantom_split_cfg,
                                           cache):
    """The mixes browse draws are boxes of the other sample, images and
    targets alike (CutMix), and labelled / unlabelled boxes (copy-paste)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS, MODELS

    import ideal_mm
    ideal_mm.register_all_modules()
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/demo/ideal_unimatch_unet_phantom.py'))
    cfg.merge_from_dict(_semi_opts(phantom_root, phantom_split_cfg, cache))
    init_default_scope('mmseg')
    torch.manual_seed(0)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    lab = [i for i in range(len(ds)) if ds.get_data_info(i)['labelled']][:2]
    unl = [i for i in range(len(ds))
           if not ds.get_data_info(i)['labelled']][:3]
    items = [ds[i] for i in lab + unl]
    model = MODELS.build(cfg.model).eval()
    batch = model.data_preprocessor(
        dict(
            inputs=[it['inputs'] for it in items],
            data_samples=[it['data_samples'] for it in items]), True)
    mixes = model_mixes(model, batch['inputs'], batch['data_samples'], [0, 1],
                        [2, 3, 4])
    strong_views = mixes['views'][1][2:]
    mixed = mixes['strong']
    assert mixed.shape == strong_views.shape
    for r in range(3):
        own = (mixed[r] == strong_views[r]).all(0)
        other = (mixed[r] == strong_views[(r + 1) % 3]).all(0)
        assert (own | other).all() and (~own).any()  # a box was pasted
        box = ~own
        for t, y in zip(mixes['strong_targets'], mixes['pseudo']):
            assert torch.equal(t[r][box], y[(r + 1) % 3][box])
            assert torch.equal(t[r][~box], y[r][~box])
    cp = mixes['copy_paste']
    weak = mixes['views'][0]
    assert cp.shape == (4, ) + tuple(weak.shape[1:])
    gt = torch.stack(
        [batch['data_samples'][i].gt_sem_seg.data[0] for i in (0, 1)])
    for j in range(2):
        from_u = (cp[j] == weak[2 + j]).all(0) & (cp[j] != weak[j]).any(0)
        assert from_u.any()
        t = mixes['cp_targets'][0][j]
        assert torch.equal(t[from_u], mixes['pseudo'][0][j][from_u])
        assert torch.equal(cp[2 + j][:, from_u], weak[j][:, from_u])
        np.testing.assert_array_equal(
            mixes['cp_targets'][0][2 + j][from_u].numpy(),
            gt[j][from_u].numpy())


def test_errors_name_the_input(tmp_path):
    with pytest.raises(ConfigError, match='does not exist'):
        browse_dataset(str(tmp_path / 'nope.py'), str(tmp_path / 'o'))
    with pytest.raises(ConfigError, match='--split'):
        browse_dataset(
            osp.join(REPO, 'configs/demo/supervised_unet_phantom.py'),
            str(tmp_path / 'o'),
            split='trian')
    proc = subprocess.run([
        sys.executable, 'tools/analysis/browse_dataset.py',
        str(tmp_path / 'nope.py'), '--out',
        str(tmp_path / 'o')
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode != 0
    assert 'nope.py does not exist' in proc.stderr
    assert 'Traceback' not in proc.stderr
