"""tools/train.py, tools/test.py and tools/dist_train.sh as a user runs
them."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PY = sys.executable


def write_tiny_config(tmp_path,
                      data_root: str,
                      split_cfg: dict,
                      extra: str = '') -> str:
    """A tiny supervised config on phantom data: 32x32 slices, batch 2."""
    base = osp.join(REPO, 'configs', 'demo', 'supervised_unet_phantom.py')
    text = f'''
_base_ = [{base!r}]
crop_size = (32, 32)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'volume_id',
             'slice_idx', 'num_slices', 'spacing', 'labelled')
train_pipeline = [
    dict(type='LoadACDCSlice', with_label=True),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadACDCSlice', with_label=True),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={data_root!r}, split_cfg={split_cfg!r},
                 pipeline=train_pipeline))
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={data_root!r}, split_cfg={split_cfg!r},
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(backbone=dict(base_channels=8), decode_head=dict(in_channels=8,
                                                              channels=8))
train_cfg = dict(max_iters=4, val_interval=4)
param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end=4,
                        by_epoch=False)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2, max_keep_ckpts=3))
{extra}
'''
    path = tmp_path / 'tiny.py'
    path.write_text(text)
    return str(path)


def run(args, cwd=REPO, timeout=300, env=None):
    full_env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    full_env.update(env or {})
    return subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env)


@pytest.fixture
def tiny_cfg(tmp_path, phantom_root, phantom_split_cfg):
    return write_tiny_config(tmp_path, phantom_root, phantom_split_cfg)


def test_train_test_and_resume(tmp_path, tiny_cfg):
    work_dir = str(tmp_path / 'work')
    res = run([PY, 'tools/train.py', tiny_cfg, '--work-dir', work_dir])
    assert res.returncode == 0, res.stderr[-3000:]
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))
    # validation per volume wrote its tables into <work_dir>/val
    with open(osp.join(work_dir, 'val', 'summary.json')) as f:
        summary = json.load(f)
    assert set(summary['per_class']) == {'RV', 'Myo', 'LV'}
    assert summary['num_cases'] == 4  # 2 val patients x (ED, ES)

    # resume: continue from iteration 4 to 6, not from scratch
    res = run([
        PY, 'tools/train.py', tiny_cfg, '--work-dir', work_dir, '--resume',
        '--cfg-options', 'train_cfg.max_iters=6', 'param_scheduler.0.end=6'
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    assert 'resumed epoch: 0, iter: 4' in out
    assert 'Iter(train) [5/6]' in out and 'Iter(train) [1/6]' not in out
    assert osp.isfile(osp.join(work_dir, 'iter_6.pth'))

    # test: per-volume metrics for the test split into the work dir
    test_dir = str(tmp_path / 'test')
    res = run([
        PY, 'tools/test.py', tiny_cfg,
        osp.join(work_dir, 'iter_6.pth'), '--work-dir', test_dir
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    with open(osp.join(test_dir, 'summary.json')) as f:
        summary = json.load(f)
    assert summary['num_cases'] == 4
    assert len(summary['cases']) == 4
    assert osp.isfile(osp.join(test_dir, 'per_case.csv'))
    assert '| LV ' in res.stdout  # the per-class table is printed


def test_dist_train_two_cpu_processes(tmp_path, tiny_cfg):
    work_dir = str(tmp_path / 'dist')
    res = run(
        ['bash', 'tools/dist_train.sh', tiny_cfg, '2', '--work-dir', work_dir],
        env={
            'PYTHON': PY,
            'PORT': '29517'
        })
    assert res.returncode == 0, res.stderr[-3000:]
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    assert logs, 'no log written'
    text = open(logs[0]).read()
    assert 'Distributed training: True' in text
    assert "'world_size': 2" in text or 'world_size: 2' in text or \
        'GPU number: 2' in text or "dist_cfg={'backend': 'gloo'}" in text
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))


def _one_line_error(res):
    assert res.returncode != 0
    assert 'Traceback' not in res.stderr
    lines = [line for line in res.stderr.strip().splitlines() if line.strip()]
    assert 1 <= len([line for line in lines if line.startswith('error:')]) <= 1
    return res.stderr


def test_train_reports_missing_config(tmp_path):
    res = run([PY, 'tools/train.py', str(tmp_path / 'nope.py')])
    err = _one_line_error(res)
    assert 'nope.py' in err and 'does not exist' in err


def test_train_reports_missing_pretrained_encoder(tmp_path, phantom_root,
                                                  phantom_split_cfg):
    missing = str(tmp_path / 'encoder.pth')
    cfg = write_tiny_config(
        tmp_path,
        phantom_root,
        phantom_split_cfg,
        extra=f"pretrain_config = 'configs/ideal/unet_acdc_pretrain.py'\n"
        f"model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
        f"checkpoint={missing!r}, prefix='backbone.')))\n")
    work_dir = tmp_path / 'w'
    res = run([PY, 'tools/train.py', cfg, '--work-dir', str(work_dir)])
    err = _one_line_error(res)
    assert missing in err
    assert 'python tools/train.py configs/ideal/unet_acdc_pretrain.py' in err
    assert 'model.backbone.init_cfg=None' in err
    assert not work_dir.exists()  # failed before anything was written


def test_test_reports_missing_checkpoint(tmp_path, tiny_cfg):
    res = run([PY, 'tools/test.py', tiny_cfg, str(tmp_path / 'none.pth')])
    err = _one_line_error(res)
    assert 'none.pth' in err


def test_test_out_writes_prediction_volumes(tmp_path, tiny_cfg, phantom_root):
    import nibabel as nib
    work_dir = str(tmp_path / 'work')
    res = run([
        PY, 'tools/train.py', tiny_cfg, '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_iters=2', 'param_scheduler.0.end=2'
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    out = tmp_path / 'preds'
    show = tmp_path / 'show'
    res = run([
        PY, 'tools/test.py', tiny_cfg,
        osp.join(work_dir, 'iter_2.pth'), '--work-dir',
        str(tmp_path / 'test'), '--out',
        str(out), '--show-dir',
        str(show)
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    preds = sorted(os.listdir(out))
    assert len(preds) == 4 and all(p.endswith('.nii.gz') for p in preds)
    # each prediction has its source frame's grid and affine
    name = preds[0][:-len('.nii.gz')]
    pid = name.split('_')[0]
    src = nib.load(osp.join(phantom_root, 'training', pid, name + '.nii.gz'))
    pred = nib.load(str(out / preds[0]))
    assert pred.shape == src.shape
    assert (abs(pred.affine - src.affine) < 1e-6).all()
    assert pred.get_data_dtype() == 'uint8'
    assert glob.glob(str(show / '**' / '*.png'), recursive=True)


@pytest.mark.skipif(
    __import__('torch').cuda.is_available(), reason='checks the CPU refusal')
def test_amp_on_cpu_is_refused_clearly(tmp_path, tiny_cfg):
    res = run([
        PY, 'tools/train.py', tiny_cfg, '--amp', '--work-dir',
        str(tmp_path / 'w')
    ])
    err = _one_line_error(res)
    assert '--amp' in err and 'GPU' in err
    assert not (tmp_path / 'w').exists()


def test_channels_last_switch_adds_the_hook_once(tiny_cfg):
    from ideal_mm.engine.config_edits import enable_channels_last, load_config
    cfg = load_config(tiny_cfg)
    enable_channels_last(cfg)
    enable_channels_last(cfg)
    types = [h['type'] for h in cfg.custom_hooks]
    assert types.count('ChannelsLastHook') == 1
    # the runtime's hooks are kept
    assert cfg.default_hooks.nonfinite.type == 'NonFiniteLossHook'
