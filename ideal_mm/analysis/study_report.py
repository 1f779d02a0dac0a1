"""A study's tables: mean +- std over seeds per method and label budget,
and the paired per-volume Dice differences of the spec's ``compare`` pairs
(two-level bootstrap, :func:`ideal_mm.evaluation.stats.paired_bootstrap`),
written as ``study.md`` and ``study.csv``; with the spec's optional
``gap = (low, high)`` the share of the low -> high test-Dice gap each
method closes, and the validation learning curves
(:mod:`.study_curves`, ``curves.png``; ``curves_reference`` names the
method drawn as a level, e.g. supervised with all labels); with
``gap_at_iters`` also the gap share on the validation curves at those
iterations (:func:`curve_gap_shares`), e.g. early in a long schedule and at
its end side by side.
"""
from __future__ import annotations

import csv
import io
import json
import os.path as osp
from typing import Dict, Sequence, Tuple

import numpy as np

from ideal_mm.atomic_files import atomic_write_text
from .study_spec import Study, budget_name

__all__ = ['collect', 'report']


def _mean_std(values: Sequence[float]) -> str:
    """``mean ± sample std`` (the mean alone for one value; ``-`` for none)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if not len(v):
        return '-'
    std = v.std(ddof=1) if len(v) > 1 else float('nan')
    return f'{v.mean():.3f} ± {std:.3f}' if len(v) > 1 else f'{v.mean():.3f}'


def collect(study: Study) -> Dict[Tuple[str, str], Dict[int, dict]]:
    """{(method, budget name): {seed: summary}} of every finished run."""
    from ideal_mm.evaluation.stats import case_scores
    out: Dict[Tuple[str, str], Dict[int, dict]] = {}
    for method in study.methods:
        for budget in study.budgets(method):
            for seed in study.spec.seeds:
                path = osp.join(
                    study.run_dir(method, budget, seed), 'summary.json')
                if not osp.isfile(path):
                    continue
                with open(path) as f:
                    summary = json.load(f)
                out.setdefault((method, budget_name(budget)), {})[int(seed)] \
                    = dict(dice=case_scores(summary, 'dice'),
                           hd95=case_scores(summary, 'hd95'),
                           mean=summary['mean'])
    return out


def _mean_dice(runs: Dict[int, dict]) -> float:
    """Mean over seeds of the mean test Dice over volumes (nan: no run)."""
    if not runs:
        return float('nan')
    return float(
        np.mean([np.nanmean(list(r['dice'].values())) for r in runs.values()]))


def gap_shares(study: Study, results: Dict[Tuple[str, str], Dict[int, dict]],
               budget: str) -> Dict[str, float]:
    """{method: (D - D_low) / (D_high - D_low)} with D the mean test Dice
    over seeds, ``low`` at ``budget`` and ``high`` at any of its budgets
    (spec ``gap = (low, high)``); {} without ``gap`` or runs."""
    gap = study.spec.get('gap')
    if not gap:
        return {}
    low, high = gap
    d_low = _mean_dice(results.get((low, budget), {}))
    his = [
        _mean_dice(results.get((high, budget_name(b)), {}))
        for b in study.budgets(high)
    ]
    his = [h for h in his if not np.isnan(h)]
    if np.isnan(d_low) or not his or his[0] == d_low:
        return {}
    out = {}
    for method in study.methods:
        d = _mean_dice(results.get((method, budget), {}))
        if method != high and not np.isnan(d):
            out[method] = (d - d_low) / (his[0] - d_low)
    return out


def _gap_lines(study: Study, results: Dict[Tuple[str, str], Dict[int, dict]],
               budgets: Sequence[str]) -> list:
    """Markdown of :func:`gap_shares` per budget."""
    gap = study.spec.get('gap')
    rows = []
    for b in budgets:
        for method, share in gap_shares(study, results, b).items():
            rows.append(f'| {method} | {b} | {100 * share:+.0f} % |')
    if not rows:
        return []
    return [
        '', f'Share of the {gap[0]} -> {gap[1]} test-Dice gap closed '
        '(mean over seeds): (D - D_low) / (D_high - D_low).', '',
        '| method | budget | gap closed |', '|---|---|---|'
    ] + rows


def curve_gap_shares(study: Study, budget: str,
                     iters: Sequence[int]) -> Dict[str, Dict[int, float]]:
    """{method: {iteration: share}} of the ``gap = (low, high)`` closed on
    the validation curves: ``(V_m(t) - V_low(t)) / (V_high(t) - V_low(t))``
    with ``V(t)`` a method's validation Dice at iteration ``t``, mean over
    its finished seeds; ``low`` at ``budget``, ``high`` at its first budget
    with curves. An iteration some seed did not log is left out (so is an
    iteration where ``high`` is not above ``low``).
    """
    from .study_curves import arm_curves, mean_band
    gap = study.spec.get('gap')
    if not gap:
        return {}
    low, high = gap
    arms = arm_curves(study, budget)
    highs = [
        arm_curves(study, budget_name(b)).get(high)
        for b in study.budgets(high)
    ]
    highs = [h for h in highs if h]
    if low not in arms or not highs:
        return {}

    def at(curves) -> Dict[int, float]:
        xs, mean, _, _ = mean_band(curves)
        return dict(zip((int(x) for x in xs), mean.tolist()))

    v_low, v_high = at(arms[low]), at(highs[0])
    out: Dict[str, Dict[int, float]] = {}
    for method, curves in arms.items():
        if method == high:
            continue
        v = at(curves)
        for t in iters:
            if t in v and t in v_low and t in v_high and \
                    v_high[t] > v_low[t]:
                out.setdefault(method, {})[int(t)] = \
                    (v[t] - v_low[t]) / (v_high[t] - v_low[t])
    return out


def _curve_gap_lines(study: Study, budgets: Sequence[str]) -> list:
    """Markdown of :func:`curve_gap_shares` at the spec's
    ``gap_at_iters``."""
    iters = list(study.spec.get('gap_at_iters', []))
    gap = study.spec.get('gap')
    if not iters or not gap:
        return []
    rows = []
    for b in budgets:
        for method, shares in curve_gap_shares(study, b, iters).items():
            rows.append(f'| {method} | {b} | ' + ' | '.join(
                f'{100 * shares[t]:+.0f} %' if t in shares else '-'
                for t in iters) + ' |')
    if not rows:
        return []
    return [
        '', f'Share of the {gap[0]} -> {gap[1]} gap closed on the '
        'validation curves (mean over finished seeds) at iteration t: '
        '(V(t) - V_low(t)) / (V_high(t) - V_low(t)).', '',
        '| method | budget | ' + ' | '.join(f'it {t}' for t in iters) + ' |',
        '|---|---|' + '---|' * len(iters)
    ] + rows


def _curve_lines(study: Study, budgets: Sequence[str]) -> list:
    """Draw curves.png and return its Markdown (image and a table of the
    mean validation Dice over seeds at up to 7 logged iterations)."""
    from .study_curves import VAL_KEY, plot_study_curves
    ref = study.spec.get('curves_reference')
    drawn = plot_study_curves(study, osp.join(study.out, 'curves.png'),
                              list(budgets), ref)
    if not drawn:
        return []
    lines = [
        '', f'Validation-split {VAL_KEY} during training (mean over '
        'the finished seeds; the test split is not used): '
        '![validation curves](curves.png)', ''
    ]
    for budget, arms in drawn.items():
        xs_all = sorted(
            set.intersection(*(set(a[0].tolist()) for a in arms.values())))
        pick = xs_all if len(xs_all) <= 7 else [
            xs_all[int(round(i))] for i in np.linspace(0,
                                                       len(xs_all) - 1, 7)
        ]
        lines += [
            f'| {budget}: method (seeds) | ' +
            ' | '.join(f'it {x:g}' for x in pick) + ' |',
            '|---|' + '---|' * len(pick)
        ]
        for method, (xs, mean, lo, hi, seeds) in arms.items():
            at = dict(zip(xs.tolist(), mean.tolist()))
            lines.append(f'| {method} ({len(seeds)}) | ' +
                         ' | '.join(f'{at[x]:.3f}' for x in pick) + ' |')
        lines.append('')
    return lines


def report(study: Study) -> str:
    """Write study.md / study.csv; return the Markdown."""
    from ideal_mm.evaluation.stats import paired_bootstrap
    results = collect(study)
    budgets = []
    for method in study.methods:
        for b in study.budgets(method):
            if budget_name(b) not in budgets:
                budgets.append(budget_name(b))
    lines = [
        f'# Study `{study.name}`', '',
        'Test-split mean over volumes of the per-volume mean over '
        'foreground classes; mean ± sample std over seeds (n = runs).', '',
        '| method | ' + ' | '.join(f'{b} Dice | {b} HD95 (mm)'
                                   for b in budgets) + ' |',
        '|---|' + '---|---|' * len(budgets)
    ]
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator='\n')
    writer.writerow(['method', 'budget', 'seed', 'dice', 'hd95', 'volumes'])
    for method in study.methods:
        cells = []
        for b in budgets:
            runs = results.get((method, b), {})
            dice = [
                np.nanmean(list(r['dice'].values())) for r in runs.values()
            ]
            hd = [np.nanmean(list(r['hd95'].values())) for r in runs.values()]
            for seed, r in sorted(runs.items()):
                writer.writerow([
                    method, b, seed,
                    f"{np.nanmean(list(r['dice'].values())):.4f}",
                    f"{np.nanmean(list(r['hd95'].values())):.3f}",
                    len(r['dice'])
                ])
            cells.append(f'{_mean_std(dice)} (n={len(dice)})' if dice else '-')
            cells.append(_mean_std(hd) if hd else '-')
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    pairs = study.spec.get('compare', [])
    if pairs:
        lines += [
            '', 'Paired per-volume Dice difference A - B (same seeds, '
            'same test volumes), two-level bootstrap over seeds and '
            'volumes (10,000 replicates): mean [95 % CI]; P(<=0) is '
            'the share of replicates at or below zero. A row with '
            'fewer than 5 seeds is preliminary; with one seed its '
            'interval covers the test volumes only, not training '
            'noise.', '',
            '| A - B | budget | seeds | volumes | mean | 95 % CI | '
            'P(<=0) |', '|---|---|---|---|---|---|---|'
        ]
        for a, b in pairs:
            for bud in budgets:
                ra, rb = results.get((a, bud), {}), results.get((b, bud), {})
                seeds = sorted(set(ra) & set(rb))
                if not seeds:
                    continue
                vols = sorted(
                    set.intersection(*(set(ra[s]['dice']) & set(rb[s]['dice'])
                                       for s in seeds)))
                A = np.array([[ra[s]['dice'][v] for v in vols] for s in seeds])
                B = np.array([[rb[s]['dice'][v] for v in vols] for s in seeds])
                ok = ~np.isnan(A).any(0) & ~np.isnan(B).any(0)
                st = paired_bootstrap(A[:, ok], B[:, ok])
                lines.append(
                    f'| {a} - {b} | {bud} | {st["seeds"]} | {st["volumes"]} '
                    f'| {st["mean"]:+.3f} | [{st["low"]:+.3f}, '
                    f'{st["high"]:+.3f}] | {st["p_below_zero"]:.3f} |')
    lines += _gap_lines(study, results, budgets)
    lines += _curve_lines(study, budgets)
    lines += _curve_gap_lines(study, budgets)
    text = '\n'.join(lines) + '\n'
    for name, content in (('study.md', text), ('study.csv', rows.getvalue())):
        atomic_write_text(osp.join(study.out, name), content)
    return text
