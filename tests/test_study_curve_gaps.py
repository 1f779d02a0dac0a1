"""The gap share on the validation curves (study spec ``gap_at_iters``)
against a direct computation from the written curves."""
import json

import numpy as np
from test_study import SPEC, _summary, _write_scalars


def test_curve_gap_shares_at_iterations(tmp_path):
    from ideal_mm.analysis.study_report import curve_gap_shares, report
    from ideal_mm.analysis.study_spec import Study
    spec = tmp_path / 'spec.py'
    spec.write_text(SPEC + """
methods['all'] = dict(config='configs/demo/supervised_unet_phantom.py',
                      budgets=[24])
gap = ('sup', 'all')
gap_at_iters = [100, 300, 500]
""")
    out = tmp_path / 'study'
    rng = np.random.default_rng(0)
    vals = {}
    for method, b in (('sup', '1pat'), ('semi', '1pat'), ('all', '24pat')):
        for seed in range(3):
            wd = out / 'runs' / method / b / f'seed{seed}'
            base = {'sup': 0.2, 'semi': 0.4, 'all': 0.8}[method]
            v = base + 0.05 * rng.random(3)
            vals[method, seed] = v
            _write_scalars(wd / 't' / 'vis_data' / 'scalars.json',
                           list(zip([100, 200, 300], v)))
            (wd / 'summary.json').write_text(json.dumps(_summary([0.5] * 4)))
    study = Study(str(spec), str(out))
    shares = curve_gap_shares(study, '1pat', [100, 300, 500])

    def mean(method, i):
        return np.mean([vals[method, s][i] for s in range(3)])

    # iteration 500 was never logged: left out; 'all' is the level itself
    assert sorted(shares) == ['semi', 'sup']
    assert sorted(shares['semi']) == [100, 300]
    for t, i in ((100, 0), (300, 2)):
        want = (mean('semi', i) - mean('sup', i)) / (
            mean('all', i) - mean('sup', i))
        assert np.isclose(shares['semi'][t], want)
        assert np.isclose(shares['sup'][t], 0.0)
    md = report(study)
    want_row = (f"| semi | 1pat | {100 * shares['semi'][100]:+.0f} % | "
                f"{100 * shares['semi'][300]:+.0f} % | - |")
    assert want_row in md
    assert '| method | budget | it 100 | it 300 | it 500 |' in md


def test_no_gap_at_iters_no_table(tmp_path):
    from ideal_mm.analysis.study_report import curve_gap_shares
    from ideal_mm.analysis.study_spec import Study
    spec = tmp_path / 'spec.py'
    spec.write_text(SPEC)
    study = Study(str(spec), str(tmp_path / 'study'))
    assert curve_gap_shares(study, '1pat', [100]) == {}
