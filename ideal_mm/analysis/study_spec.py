"""A study spec (``configs/studies/*.py``): its methods, label budgets and
seeds, and where each run's results are.

The spec's keys are described in ``tools/analysis/study.py``; runs are
started by :mod:`.study_runner` and tabulated by :mod:`.study_report`.
"""
from __future__ import annotations

import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ideal_mm.errors import ConfigError, DataError

__all__ = ['budget_name', 'flatten', 'Study', 'ensure_data']

#: the option through which a first stage's best checkpoint reaches the
#: method's config unless ``first.init_key`` names another
FIRST_INIT_KEY = 'model.segmentor.init_cfg.checkpoint'
FIRST_KEYS = ('config', 'cfg_options', 'init_key')
#: where a chained pre-training stage receives the previous stage's output
PRETRAIN_INIT_KEY = 'model.backbone.init_cfg.checkpoint'
PRETRAIN_STAGE_KEYS = ('config', 'init_key', 'output', 'cfg_options')


def budget_name(budget: Any) -> str:
    """Folder / table name of a label budget: 2 -> '2pat', 0.1 -> '10pct'."""
    if budget is None:
        return 'all'
    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        raise ConfigError(f'budget {budget!r} must be an int (patients), a '
                          'float in (0, 1] (fraction) or None (all)')
    if isinstance(budget, int):
        return f'{budget}pat'
    return f'{budget * 100:g}pct'


def flatten(options: Dict[str, Any], prefix: str = '') -> List[str]:
    """``{'a': {'b': 1}}`` -> ``['a.b=1']`` in ``--cfg-options`` syntax."""
    out = []
    for key, value in options.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict) and not value.get('type'):
            out += flatten(value, name + '.')
        elif isinstance(value, (list, tuple)):
            inner = ','.join(str(v) for v in value)
            out.append(f'{name}=[{inner}]'
                       if isinstance(value, list) else f'{name}=({inner})')
        else:
            out.append(f'{name}={value}')
    return out


class Study:
    """The runs of a study spec and where their results are."""

    def __init__(self, spec_path: str, out: Optional[str]) -> None:
        from mmengine.config import Config
        if not osp.isfile(spec_path):
            raise ConfigError(f'{spec_path}: study spec not found')
        self.spec = Config.fromfile(spec_path)
        for key in ('methods', 'budgets', 'seeds'):
            if key not in self.spec:
                raise ConfigError(f'{spec_path}: needs `{key}`')
        self.name = osp.splitext(osp.basename(spec_path))[0]
        self.out = out or osp.join('work_dirs', 'studies', self.name)
        self.methods: Dict[str, dict] = {}
        for name, m in self.spec.methods.items():
            if 'config' not in m:
                raise ConfigError(
                    f'{spec_path}: methods.{name} needs `config`')
            if m.get('pretrain_exclude') is not None and \
                    not m.get('pretrain'):
                raise ConfigError(f'{spec_path}: methods.{name}.'
                                  'pretrain_exclude needs `pretrain`')
            if not osp.isfile(m['config']):
                raise ConfigError(f'{spec_path}: methods.{name}.config = '
                                  f"{m['config']!r} does not exist")
            if m.get('pretrain'):
                self._check_pretrain(spec_path, name, m)
            if m.get('first') is not None:
                self._check_first(spec_path, name, m)
            self.methods[name] = dict(m)
        for pair in self.spec.get('compare', []):
            for name in pair:
                if name not in self.methods:
                    raise ConfigError(f'{spec_path}: compare names {name!r}, '
                                      f'not one of {sorted(self.methods)}')

    @staticmethod
    def _check_first(spec_path: str, name: str, m: dict) -> None:
        """``first=dict(config=..., cfg_options=..., init_key=...)``: a
        per-run first stage (BCP's labelled phase)."""
        first = m['first']
        where = f'{spec_path}: methods.{name}.first'
        if not isinstance(first, dict) or 'config' not in first:
            raise ConfigError(f"{where} must be dict(config='configs/...'"
                              ', cfg_options={...}) (the first stage)')
        unknown = set(first) - set(FIRST_KEYS)
        if unknown:
            raise ConfigError(f'{where}: unknown keys {sorted(unknown)}; '
                              f'valid: {list(FIRST_KEYS)}')
        if not osp.isfile(first['config']):
            raise ConfigError(f"{where}.config = {first['config']!r} does "
                              'not exist')
        if m.get('pretrain'):
            raise ConfigError(
                f'{where} and methods.{name}.pretrain: a method has one '
                'earlier stage; give it `first` (per budget and seed) or '
                '`pretrain` (once per study), not both')

    @staticmethod
    def _check_pretrain(spec_path: str, name: str, m: dict) -> None:
        """``pretrain``: a config, or a list of stages (a config or
        ``dict(config=..., init_key=..., output=..., cfg_options=...)``)
        each started from the previous stage's output."""
        where = f'{spec_path}: methods.{name}.pretrain'
        items = m['pretrain']
        chain = isinstance(items, (list, tuple))
        for i, s in enumerate(items if chain else [items]):
            if isinstance(s, dict):
                unknown = set(s) - set(PRETRAIN_STAGE_KEYS)
                if 'config' not in s or unknown:
                    raise ConfigError(
                        f'{where}[{i}] must be a config path or dict(config='
                        f'..., init_key=..., output=..., cfg_options=...); '
                        f'unknown keys {sorted(unknown)}')
                s = s['config']
            if not isinstance(s, str) or not osp.isfile(s):
                raise ConfigError(f'{where}[{i}] = {s!r} does not exist'
                                  if chain else f'{where} = {s!r} does not '
                                  'exist')
        if chain and len(items) > 1 and m.get('pretrain_exclude') is not None:
            raise ConfigError(f'{where}: pretrain_exclude works on one '
                              'stage-1 encoder.pth, not on a chain of stages')

    def pretrain_stages(self, method: str) -> List[dict]:
        """A method's pre-training stages in order, each ``dict(config,
        init_key, output, cfg_options)``: stage i > 0 gets the output file
        of stage i - 1 at ``init_key`` (default
        ``model.backbone.init_cfg.checkpoint``); ``output`` is the file the
        stage writes into its work dir (default ``encoder.pth``);
        ``cfg_options`` replace the spec's ``pretrain_cfg_options`` for that
        stage (None: use them). [] without ``pretrain``."""
        items = self.methods[method].get('pretrain')
        if not items:
            return []
        if not isinstance(items, (list, tuple)):
            items = [items]
        stages = []
        for i, s in enumerate(items):
            s = dict(config=s) if isinstance(s, str) else dict(s)
            stages.append(
                dict(
                    config=s['config'],
                    init_key=(s.get('init_key') or PRETRAIN_INIT_KEY)
                    if i else None,
                    output=s.get('output') or 'encoder.pth',
                    cfg_options=s.get('cfg_options')))
        return stages

    def pretrain_stage_dir(self, method: str, index: int) -> str:
        """``DIR/pretrain/<a>+<b>...``: named by the stage configs up to
        ``index``, so methods with the same chain share the runs."""
        stages = self.pretrain_stages(method)[:index + 1]
        return osp.join(
            self.out, 'pretrain', '+'.join(
                osp.splitext(osp.basename(s['config']))[0] for s in stages))

    def first(self, method: str) -> Optional[dict]:
        """A method's first stage: ``config``, ``cfg_options``, ``init_key``
        (None without one)."""
        first = self.methods[method].get('first')
        if first is None:
            return None
        return dict(
            config=first['config'],
            cfg_options=dict(first.get('cfg_options') or {}),
            init_key=first.get('init_key') or FIRST_INIT_KEY)

    def first_dir(self, method: str, budget: Any, seed: int) -> str:
        """``<run dir>/first``: a first stage belongs to its run."""
        return osp.join(self.run_dir(method, budget, seed), 'first')

    def budgets(self, method: str) -> List[Any]:
        """The budgets a method runs at (its own list, else the study's)."""
        own = self.methods[method].get('budgets')
        return list(self.spec.budgets if own is None else own)

    def run_dir(self, method: str, budget: Any, seed: int) -> str:
        """``DIR/runs/<method>/<budget>/seed<S>``."""
        return osp.join(self.out, 'runs', method, budget_name(budget),
                        f'seed{seed}')

    def pretrain_dir(self, method: str) -> str:
        """Where a method's stage-1 run goes: one per pre-training config, so
        methods that name the same config share it."""
        return self.pretrain_stage_dir(method,
                                       len(self.pretrain_stages(method)) - 1)

    def runs(
            self,
            methods: Optional[Sequence[str]] = None,
            seeds: Optional[Sequence[int]] = None,
            budgets: Optional[Sequence[str]] = None
    ) -> List[Tuple[str, Any, int]]:
        """(method, budget, seed), seeds outermost so a partial study stays
        balanced across methods."""
        out = []
        for seed in (seeds if seeds is not None else self.spec.seeds):
            for method in self.methods:
                if methods and method not in methods:
                    continue
                for budget in self.budgets(method):
                    if budgets and budget_name(budget) not in budgets:
                        continue
                    out.append((method, budget, int(seed)))
        return out


def ensure_data(study: Study) -> None:
    """Generate the spec's phantom data (``data.generate``) when its
    ``data.root`` does not exist yet."""
    data = study.spec.get('data')
    if not data or osp.isdir(data['root']):
        return
    gen = data.get('generate')
    if not gen:
        raise DataError(f"data root {data['root']} does not exist; create it "
                        'or add data.generate to the study spec')
    from ideal_mm.datasets.phantom import make_phantom_acdc
    print(f"generating phantom data in {data['root']}: {dict(gen)}")
    make_phantom_acdc(data['root'], progress=True, **dict(gen))
