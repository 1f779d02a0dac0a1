"""Study statistics (paired two-level bootstrap) and the study tool's runs,
skipping and report, on fabricated run folders."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from ideal_mm.evaluation.stats import case_scores, paired_bootstrap

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_paired_bootstrap_against_direct_computation():
    rng = np.random.default_rng(0)
    b = rng.random((5, 20))
    # a constant shift: every replicate has that mean, the CI collapses
    st = paired_bootstrap(b + 0.1, b, num=2000)
    assert st['mean'] == pytest.approx(0.1)
    assert st['low'] == pytest.approx(0.1) and st['high'] == pytest.approx(0.1)
    assert st['p_below_zero'] == 0.0 and (st['seeds'], st['volumes']) == (5,
                                                                          20)
    # zero-mean noise: the interval covers 0 and its width follows the
    # standard error of a mean of 100 values of std 0.1 (about 0.02)
    d = rng.normal(0, 0.1, (5, 20))
    st = paired_bootstrap(b + d, b, num=4000)
    assert st['mean'] == pytest.approx(d.mean())
    assert st['low'] < d.mean() < st['high']
    assert 0.02 < st['high'] - st['low'] < 0.12
    with pytest.raises(ValueError, match='seeds, volumes'):
        paired_bootstrap(b, b[:, :3])


def test_seed_level_noise_widens_the_interval():
    rng = np.random.default_rng(1)
    base = rng.random((5, 30))
    seed_noise = np.array([0.2, -0.2, 0.15, -0.1, 0.0])[:, None]
    narrow = paired_bootstrap(base + 0.05, base, num=3000)
    wide = paired_bootstrap(base + 0.05 + seed_noise, base, num=3000)
    assert wide['high'] - wide['low'] > 5 * (narrow['high'] - narrow['low'])


def test_case_scores_mean_over_classes_skips_nan():
    summary = dict(cases=[
        dict(
            case='a',
            RV=dict(dice=0.5, hd95=float('nan')),
            LV=dict(dice=1.0, hd95=4.0)),
        dict(
            case='b',
            RV=dict(dice=0.0, hd95=None),
            LV=dict(dice=0.2, hd95=None))
    ])
    assert case_scores(summary, 'dice') == {'a': 0.75, 'b': 0.1}
    hd = case_scores(summary, 'hd95')
    assert hd['a'] == 4.0 and np.isnan(hd['b'])


SPEC = """
budgets = [1]
seeds = [0, 1, 2]
methods = dict(
    sup=dict(config='configs/demo/supervised_unet_phantom.py'),
    semi=dict(config='configs/demo/cps_unet_phantom.py'))
compare = [('semi', 'sup')]
"""


def _summary(scores):
    return dict(
        mean=dict(dice=float(np.mean(scores))),
        cases=[
            dict(
                case=f'v{i}',
                RV=dict(dice=s, hd95=1.0),
                LV=dict(dice=s, hd95=3.0)) for i, s in enumerate(scores)
        ])


def test_study_report_and_resume(tmp_path):
    spec = tmp_path / 'spec.py'
    spec.write_text(SPEC)
    out = tmp_path / 'study'
    rng = np.random.default_rng(0)
    base = rng.random((3, 6))
    for method, shift in (('sup', 0.0), ('semi', 0.1)):
        for seed in range(3):
            wd = out / 'runs' / method / '1pat' / f'seed{seed}'
            wd.mkdir(parents=True)
            (wd / 'summary.json').write_text(
                json.dumps(_summary(list(base[seed] + shift))))
    cmd = [
        sys.executable, 'tools/analysis/study.py',
        str(spec), '--out',
        str(out)
    ]
    # every run has its summary: nothing starts (a dry run lists nothing)
    res = subprocess.run(
        cmd + ['--dry-run'], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert 'start' not in res.stdout
    res = subprocess.run(
        cmd + ['--report-only'], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    md = (out / 'study.md').read_text()
    sup_mean = base.mean(1)
    row = next(line for line in md.splitlines() if line.startswith('| sup '))
    assert f'{sup_mean.mean():.3f} ± {sup_mean.std(ddof=1):.3f} (n=3)' in row
    pair = next(line for line in md.splitlines()
                if line.startswith('| semi - sup'))
    assert '| 1pat | 3 | 6 | +0.100 | [+0.100, +0.100] | 0.000 |' in pair
    rows = (out / 'study.csv').read_text().splitlines()
    assert rows[0] == 'method,budget,seed,dice,hd95,volumes'
    assert len(rows) == 7
    # a missing run is listed for starting; a bad spec names the key
    os.remove(out / 'runs' / 'semi' / '1pat' / 'seed2' / 'summary.json')
    res = subprocess.run(
        cmd + ['--dry-run'], cwd=REPO, capture_output=True, text=True)
    assert '[6/6] semi 1pat seed 2: start' in res.stdout
    assert res.stdout.count('start') == 1
    spec.write_text(
        SPEC.replace("compare = [('semi', 'sup')]",
                     "compare = [('semi', 'nope')]"))
    res = subprocess.run(
        cmd + ['--dry-run'], cwd=REPO, capture_output=True, text=True)
    assert res.returncode != 0 and "compare names 'nope'" in res.stderr


@pytest.mark.parametrize('spec', [
    'configs/studies/phantom_hard.py', 'configs/studies/phantom_hard_long.py',
    'configs/studies/acdc.py'
])
def test_shipped_study_specs_list_their_runs(spec, tmp_path):
    res = subprocess.run([
        sys.executable, 'tools/analysis/study.py', spec, '--out',
        str(tmp_path / 'out'), '--dry-run', '--seeds', '0'
    ],
                         cwd=REPO,
                         capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    starts = [
        line for line in res.stdout.splitlines() if line.endswith(': start')
    ]
    assert starts and all('seed 0' in line for line in starts)
    assert any('pre-training' in line for line in res.stdout.splitlines())


def test_pretrain_exclude_exports_from_the_shared_stage1(tmp_path):
    import torch

    from ideal_mm.analysis.study_runner import StudyRunner
    from ideal_mm.analysis.study_spec import Study
    from ideal_mm.errors import ConfigError
    spec = tmp_path / 'spec.py'
    spec.write_text("""
budgets = [1]
seeds = [0]
methods = dict(
    whole=dict(config='configs/demo/ideal_unet_phantom_finetune.py',
               pretrain='configs/demo/ideal_unet_phantom_pretrain.py'),
    part=dict(config='configs/demo/ideal_unet_phantom_finetune.py',
              pretrain='configs/demo/ideal_unet_phantom_pretrain.py',
              pretrain_exclude=['encoder.0.']))
""")
    study = Study(str(spec), str(tmp_path / 'out'))
    runner = StudyRunner(study, jobs=1, dry_run=False)
    wd = study.pretrain_dir('part')
    assert wd == study.pretrain_dir('whole')  # one stage-1 run for both
    os.makedirs(wd)
    state = {
        'backbone.encoder.0.w': torch.ones(2),
        'backbone.encoder.1.w': torch.full((2, ), 2.0),
        'head.w': torch.zeros(1)
    }
    ckpt = osp.join(wd, 'iter_4.pth')
    torch.save(dict(state_dict=state, meta=dict()), ckpt)
    with open(osp.join(wd, 'last_checkpoint'), 'w') as f:
        f.write(ckpt)
    enc = osp.join(wd, 'encoder.pth')
    assert runner.excluded_encoder('whole', enc) == enc
    # [] re-exports the whole encoder from the checkpoint
    study.methods['whole']['pretrain_exclude'] = []
    full = runner.excluded_encoder('whole', enc)
    assert full == osp.join(wd, 'encoder_excl-none.pth')
    assert sorted(
        torch.load(full, map_location='cpu',
                   weights_only=False)['state_dict']) == [
                       'backbone.encoder.0.w', 'backbone.encoder.1.w'
                   ]
    out = runner.excluded_encoder('part', enc)
    assert out == osp.join(wd, 'encoder_excl-encoder.0.pth')
    saved = torch.load(out, map_location='cpu', weights_only=False)
    assert sorted(saved['state_dict']) == ['backbone.encoder.1.w']
    assert torch.equal(saved['state_dict']['backbone.encoder.1.w'],
                       state['backbone.encoder.1.w'])
    # a method without `pretrain` may not exclude
    spec.write_text(spec.read_text().replace(
        "pretrain='configs/demo/ideal_unet_phantom_pretrain.py',\n"
        "              pretrain_exclude", "pretrain_exclude"))
    with pytest.raises(ConfigError, match='pretrain_exclude needs'):
        Study(str(spec), str(tmp_path / 'out'))


def _write_scalars(path, points, extra=()):
    """A fake mmengine scalars.json: training lines and mDice lines."""
    path.parent.mkdir(parents=True)
    lines = [
        json.dumps(dict(loss=0.5, lr=0.01, iter=i, step=i)) for i in extra
    ]
    lines += [
        json.dumps(dict(mDice=v, RV_Dice=0.1, step=s)) for s, v in points
    ]
    path.write_text('\n'.join(lines) + '\n')


def test_study_curves_mean_over_seeds_and_png(tmp_path):
    from ideal_mm.analysis.study_curves import (VAL_CURVE, arm_curves,
                                                mean_band, run_curve,
                                                save_val_curve)
    from ideal_mm.analysis.study_report import report
    from ideal_mm.analysis.study_spec import Study
    spec = tmp_path / 'spec.py'
    spec.write_text(SPEC + """
methods['all'] = dict(config='configs/demo/supervised_unet_phantom.py',
                      budgets=[24])
gap = ('sup', 'all')
curves_reference = 'all'
""")
    out = tmp_path / 'study'
    rng = np.random.default_rng(3)
    iters = [100, 200, 300, 400]
    vals = {}
    for method, budgets in (('sup', ['1pat']), ('semi', ['1pat']),
                            ('all', ['24pat'])):
        for b in budgets:
            for seed in range(3):
                wd = out / 'runs' / method / b / f'seed{seed}'
                v = rng.random(4)
                vals[method, seed] = v
                # a resumed run: the second folder re-logs iteration 200
                _write_scalars(
                    wd / '20260101_000000' / 'vis_data' / 'scalars.json',
                    [(100, v[0]), (200, 0.999)],
                    extra=[50, 100])
                _write_scalars(
                    wd / '20260101_010000' / 'vis_data' / 'scalars.json',
                    [(200, v[1]), (300, v[2]), (400, v[3])])
                (wd / 'summary.json').write_text(
                    json.dumps(
                        _summary([
                            0.4 + 0.1 * (method == 'semi') + 0.4 *
                            (method == 'all')
                        ] * 4)))
    # an unfinished run (no summary.json) is not part of the curves
    _write_scalars(
        out / 'runs' / 'semi' / '1pat' / 'seed9' / 't' / 'vis_data' /
        'scalars.json', [(100, 1.0)])
    wd0 = str(out / 'runs' / 'sup' / '1pat' / 'seed0')
    xs, ys = run_curve(wd0)
    assert xs == iters and np.allclose(ys, vals['sup', 0])
    path = save_val_curve(wd0)
    assert path == osp.join(wd0, VAL_CURVE)
    saved = json.loads(open(path).read())
    assert saved['key'] == 'mDice' and saved['iters'] == iters
    assert np.allclose(saved['values'], vals['sup', 0])
    study = Study(str(spec), str(out))
    arms = arm_curves(study, '1pat')
    assert sorted(arms) == ['semi', 'sup'] and sorted(
        arms['semi']) == [0, 1, 2]
    x, mean, lo, hi = mean_band(arms['semi'])
    stack = np.stack([vals['semi', s] for s in range(3)])
    assert x.tolist() == iters
    assert np.allclose(mean, stack.mean(0))
    assert np.allclose(lo, stack.min(0)) and np.allclose(hi, stack.max(0))
    md = report(study)
    assert (out / 'curves.png').stat().st_size > 1000
    assert '![validation curves](curves.png)' in md
    row = next(line for line in md.splitlines()
               if line.startswith('| semi (3) |'))
    assert row == '| semi (3) | ' + ' | '.join(f'{m:.3f}'
                                               for m in stack.mean(0)) + ' |'
    # the reference arm is a level, not a curve; the gap shares are
    # (D - D_sup) / (D_all - D_sup) = (0.5 - 0.4) / (0.8 - 0.4)
    assert not any(line.startswith('| all (') for line in md.splitlines())
    assert '| semi | 1pat | +25 % |' in md
    assert '| sup | 1pat | +0 % |' in md
    with pytest.raises(ValueError, match='at least one'):
        mean_band({})


def test_input_size_writes_resized_configs(tmp_path):
    from mmengine.config import Config

    from ideal_mm.analysis.study_runner import StudyRunner
    from ideal_mm.analysis.study_spec import Study
    from ideal_mm.errors import ConfigError
    spec = tmp_path / 'spec.py'
    spec.write_text('input_size = (48, 48)\n' + SPEC)
    study = Study(str(spec), str(tmp_path / 'out'))
    runner = StudyRunner(study, jobs=1, dry_run=False)
    src = 'configs/demo/cps_unet_phantom.py'
    path = runner.config(src)
    assert path == str(tmp_path / 'out' / 'configs' / 'cps_unet_phantom.py')
    cfg, ref = Config.fromfile(path), Config.fromfile(src)
    train = cfg.train_dataloader.dataset.pipeline
    assert [t['out_size'] for t in train if 'out_size' in t] == [(48, 48)]
    for key in ('val_dataloader', 'test_dataloader'):
        sizes = [
            t['scale'] for t in cfg[key].dataset.pipeline
            if t['type'] == 'Resize'
        ]
        assert sizes == [(48, 48)]
    # only the sizes change, and the padding multiple (32 would pad 48
    # back up to 64)
    assert cfg.model.data_preprocessor.size_divisor == 16
    cfg.model.data_preprocessor.size_divisor = 32
    assert cfg.model == ref.model and cfg.train_cfg == ref.train_cfg
    assert cfg.train_dataloader.sampler == ref.train_dataloader.sampler
    # written once, reused
    mtime = os.path.getmtime(path)
    assert runner.config(src) == path and os.path.getmtime(path) == mtime
    bad = tmp_path / 'bad.py'
    bad.write_text("model = dict(type='X')\ntrain_dataloader = dict("
                   "dataset=dict(type='Y'))\n")
    with pytest.raises(ConfigError, match='found no pipeline'):
        runner.config(str(bad))
    study.spec.input_size = None
    assert runner.config(src) == src


FIRST_SPEC = """
budgets = [1]
seeds = [0]
cfg_options = {'train_cfg.val_interval': 600}
methods = dict(
    bcp=dict(config='configs/demo/bcp_unet_phantom.py',
             first=dict(config='configs/demo/bcp_labelled_unet_phantom.py',
                        cfg_options={'train_cfg.val_interval': 100})))
"""


def test_first_stage_per_run_feeds_its_best_checkpoint(tmp_path, monkeypatch):
    """A `first` stage trains in <run>/first with the study's options, then
    its own, seed and budget; the run starts from its best checkpoint; a
    finished first stage is not trained again, an interrupted one resumes."""
    from ideal_mm.analysis import study_runner
    from ideal_mm.analysis.study_runner import FIRST_DONE, StudyRunner
    from ideal_mm.analysis.study_spec import Study
    from ideal_mm.errors import ConfigError
    spec = tmp_path / 'spec.py'
    spec.write_text(FIRST_SPEC)
    study = Study(str(spec), str(tmp_path / 'out'))
    calls = []
    best_name = ['best_mDice_iter_100.pth']

    def fake_run(cmd, log, threads, repo):
        calls.append(cmd)
        wd = cmd[cmd.index('--work-dir') + 1]
        if cmd[1] == 'tools/train.py' and wd.endswith('first'):
            if best_name[0]:
                open(osp.join(wd, best_name[0]), 'w').close()
        elif cmd[1] == 'tools/train.py':
            ckpt = osp.join(wd, 'iter_600.pth')
            open(ckpt, 'w').close()
            with open(osp.join(wd, 'last_checkpoint'), 'w') as f:
                f.write(ckpt)
        else:
            with open(osp.join(wd, 'summary.json'), 'w') as f:
                json.dump(_summary([0.5, 0.7]), f)
        return 0

    monkeypatch.setattr(study_runner, '_run', fake_run)
    monkeypatch.setattr(study_runner, 'save_val_curve', lambda wd: None)
    runner = StudyRunner(study, jobs=1, dry_run=False)
    runner.run_all(study.runs())
    assert not runner.failed
    first_wd = study.first_dir('bcp', 1, 0)
    assert first_wd == osp.join(study.run_dir('bcp', 1, 0), 'first')
    best = osp.join(first_wd, 'best_mDice_iter_100.pth')
    first, train, test = calls
    assert first[2] == 'configs/demo/bcp_labelled_unet_phantom.py'
    assert first[first.index('--work-dir') + 1] == first_wd
    opts = first[first.index('--cfg-options') + 1:]
    # the first stage's own option overrides the study's
    assert opts == [
        'train_cfg.val_interval=100', 'randomness.seed=0',
        'train_dataloader.dataset.label_budget=1'
    ]
    assert '--resume' not in first
    assert train[2] == 'configs/demo/bcp_unet_phantom.py'
    assert f'model.segmentor.init_cfg.checkpoint={best}' in train
    assert 'train_cfg.val_interval=600' in train
    assert f'model.segmentor.init_cfg.checkpoint={best}' in test
    with open(osp.join(first_wd, FIRST_DONE)) as f:
        assert json.load(f)['best'] == best
    with open(osp.join(study.run_dir('bcp', 1, 0), 'run_info.json')) as f:
        assert json.load(f)['first_stage'] == best
    # the run without its summary: the finished first stage is reused
    os.remove(osp.join(study.run_dir('bcp', 1, 0), 'summary.json'))
    calls.clear()
    runner.run_all(study.runs())
    assert [c[2] for c in calls] == ['configs/demo/bcp_unet_phantom.py'] * 2
    # an interrupted first stage resumes; one without a best checkpoint
    # fails the run, naming the folder, and phase 2 does not start
    os.remove(osp.join(study.run_dir('bcp', 1, 0), 'summary.json'))
    os.remove(osp.join(first_wd, FIRST_DONE))
    os.remove(best)
    ckpt = osp.join(first_wd, 'iter_50.pth')
    open(ckpt, 'w').close()
    with open(osp.join(first_wd, 'last_checkpoint'), 'w') as f:
        f.write(ckpt)
    calls.clear()
    best_name[0] = None
    runner.run_all(study.runs())
    assert len(calls) == 1 and '--resume' in calls[0]
    assert runner.failed == ['[1/1] bcp 1pat seed 0 (first stage)']
    # bad specs name the key
    for bad, match in (
        ("first=dict(config='nope.py')",
         'first.config'), ("first=dict(cfg='x')", 'must be dict'),
        ("first=dict(config='configs/demo/bcp_labelled_unet_phantom.py',"
         " seeds=[1])", 'unknown keys'),
        ("pretrain='configs/demo/ideal_unet_phantom_pretrain.py', "
         "first=dict(config='configs/demo/bcp_labelled_unet_phantom.py')",
         'not both')):
        spec.write_text(
            "budgets = [1]\nseeds = [0]\nmethods = dict(bcp=dict("
            f"config='configs/demo/bcp_unet_phantom.py', {bad}))\n")
        with pytest.raises(ConfigError, match=match):
            Study(str(spec), str(tmp_path / 'out'))


CHAIN_SPEC = """
budgets = [1]
seeds = [0]
pretrain_cfg_options = {'train_cfg.max_iters': 7}
methods = dict(
    chaitanya=dict(
        config='configs/demo/chaitanya_unet_phantom.py',
        pretrain=[
            'configs/demo/chaitanya-global_unet_phantom.py',
            dict(config='configs/demo/chaitanya-local_unet_phantom.py',
                 output='pretrained.pth',
                 cfg_options={'train_cfg.max_iters': 5})
        ],
        pretrain_key='model.init_cfg.checkpoint'))
"""


def test_pretrain_chain_feeds_each_stage_the_previous_output(
        tmp_path, monkeypatch):
    """A list of pre-training stages runs in order, each from the previous
    stage's output file; the run starts from the last one at
    ``pretrain_key``; finished stages are not trained again."""
    from ideal_mm.analysis import study_runner
    from ideal_mm.analysis.study_runner import StudyRunner
    from ideal_mm.analysis.study_spec import Study
    from ideal_mm.errors import ConfigError
    spec = tmp_path / 'spec.py'
    spec.write_text(CHAIN_SPEC)
    study = Study(str(spec), str(tmp_path / 'out'))
    calls = []

    def fake_run(cmd, log, threads, repo):
        calls.append(cmd)
        wd = cmd[cmd.index('--work-dir') + 1]
        if 'chaitanya-global' in cmd[2]:
            open(osp.join(wd, 'encoder.pth'), 'w').close()
        elif 'chaitanya-local' in cmd[2]:
            open(osp.join(wd, 'pretrained.pth'), 'w').close()
        elif cmd[1] == 'tools/train.py':
            ckpt = osp.join(wd, 'iter_600.pth')
            open(ckpt, 'w').close()
            with open(osp.join(wd, 'last_checkpoint'), 'w') as f:
                f.write(ckpt)
        else:
            with open(osp.join(wd, 'summary.json'), 'w') as f:
                json.dump(_summary([0.5, 0.7]), f)
        return 0

    monkeypatch.setattr(study_runner, '_run', fake_run)
    monkeypatch.setattr(study_runner, 'save_val_curve', lambda wd: None)
    runner = StudyRunner(study, jobs=1, dry_run=False)
    runner.run_all(study.runs())
    assert not runner.failed
    glob_wd = study.pretrain_stage_dir('chaitanya', 0)
    local_wd = study.pretrain_stage_dir('chaitanya', 1)
    assert local_wd == study.pretrain_dir('chaitanya')
    assert osp.basename(local_wd) == \
        'chaitanya-global_unet_phantom+chaitanya-local_unet_phantom'
    g, loc, train, test = calls
    assert g[g.index('--work-dir') + 1] == glob_wd
    # stage 1 takes the spec's pretrain options, stage 2 its own instead,
    # plus the previous output at the default init key
    assert g[g.index('--cfg-options') + 1:] == ['train_cfg.max_iters=7']
    enc = osp.join(glob_wd, 'encoder.pth')
    assert loc[loc.index('--cfg-options') + 1:] == [
        'train_cfg.max_iters=5', f'model.backbone.init_cfg.checkpoint={enc}'
    ]
    out = osp.join(local_wd, 'pretrained.pth')
    assert f'model.init_cfg.checkpoint={out}' in train
    assert f'model.init_cfg.checkpoint={out}' in test
    # done stages are reused
    os.remove(osp.join(study.run_dir('chaitanya', 1, 0), 'summary.json'))
    os.remove(out)
    calls.clear()
    runner.run_all(study.runs())
    assert [c[2] for c in calls] == [
        'configs/demo/chaitanya-local_unet_phantom.py',
        'configs/demo/chaitanya_unet_phantom.py',
        'configs/demo/chaitanya_unet_phantom.py'
    ]
    # bad chains name the key
    bad = CHAIN_SPEC.replace("output='pretrained.pth',", "outptu='x',")
    spec.write_text(bad)
    with pytest.raises(ConfigError, match=r'pretrain\[1\].*outptu'):
        Study(str(spec), str(tmp_path / 'o2'))
    spec.write_text(CHAIN_SPEC.replace('chaitanya-global_unet', 'nope'))
    with pytest.raises(ConfigError, match=r'pretrain\[0\].*does not exist'):
        Study(str(spec), str(tmp_path / 'o3'))
