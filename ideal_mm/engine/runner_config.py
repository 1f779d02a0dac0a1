"""Config preparation shared by tools/train.py, tools/test.py and users' scripts.

mmseg's tools do this inline; ideal_mm needs a few more steps, kept here so
that every entry point behaves the same:

* distributed runs without CUDA use the gloo backend and a DDP wrapper without
  ``device_ids`` (mmengine's defaults assume one GPU per rank);
* ``ACDCVolumeMetric`` evaluators write ``per_case.csv`` / ``summary.json``
  into the work dir when no ``out_dir`` is configured;
* a ``Pretrained`` init_cfg that names a local file which does not exist fails
  at start-up, before any data is read, with the command that creates it;
* :func:`validate_config` also rejects unregistered component types, decoders
  whose ``num_classes`` disagree (with each other or the dataset's classes) and
  impossible label budgets, and :func:`check_checkpoint_fits` a checkpoint of
  another architecture - all before the Runner creates the work dir.
"""
from __future__ import annotations

import contextlib
import copy
import os.path as osp
import re
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict

from ..errors import ConfigError

VOLUME_METRICS = ('ACDCVolumeMetric', )


def _iter_init_cfgs(obj: Any, key: str = 'model'
                    ) -> Iterator[Tuple[str, dict]]:
    """Yield (config key, init_cfg dict) for every init_cfg below ``obj``."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            child = f'{key}.{k}'
            if k == 'init_cfg':
                items = v if isinstance(v, (list, tuple)) else [v]
                for item in items:
                    if isinstance(item, dict):
                        yield child, item
            else:
                yield from _iter_init_cfgs(v, child)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _iter_init_cfgs(v, f'{key}[{i}]')


def check_pretrained_files(cfg: Config) -> None:
    """Raise ConfigError when a Pretrained init_cfg names a missing local file.

    The message gives the config key, the command that creates the file when
    the config names one (``pretrain_config = '...'``) and how to train from
    scratch instead.
    """
    for key, init_cfg in _iter_init_cfgs(cfg.get('model', {})):
        if init_cfg.get('type') != 'Pretrained':
            continue
        ckpt = init_cfg.get('checkpoint')
        if not isinstance(ckpt, str) or '://' in ckpt or ckpt.startswith(
            ('open-mmlab', 'mmcls', 'torchvision')):
            continue
        if osp.isfile(ckpt):
            continue
        hint = ''
        pretrain_config = cfg.get('pretrain_config')
        if pretrain_config:
            hint = (f' Create it with `python tools/train.py {pretrain_config}`'
                    f' (or `bash tools/run_ideal.sh {pretrain_config} '
                    f'<finetune config>`), pass another file with '
                    f'--cfg-options {key}.checkpoint=PATH,')
        else:
            hint = f' Pass an existing file with --cfg-options {key}.checkpoint=PATH,'
        raise ConfigError(
            f'pre-trained weights {ckpt!r} ({key}.checkpoint) do not exist.'
            f'{hint} or train from scratch with --cfg-options {key}=None.')


def set_metric_out_dirs(cfg: Config, work_dir: str) -> None:
    """Point volume metrics without an ``out_dir`` at the work dir.

    Validation writes into ``<work_dir>/val`` (overwritten at every
    validation), testing into ``<work_dir>``.
    """
    for name, sub in (('val_evaluator', 'val'), ('test_evaluator', '')):
        evaluator = cfg.get(name)
        if evaluator is None:
            continue
        items = evaluator if isinstance(evaluator, list) else [evaluator]
        if isinstance(evaluator, dict) and 'metrics' in evaluator:
            items = evaluator['metrics']
            items = items if isinstance(items, list) else [items]
        for item in items:
            if isinstance(item, dict) and item.get(
                    'type') in VOLUME_METRICS and not item.get('out_dir'):
                item['out_dir'] = osp.join(work_dir, sub) if sub else work_dir


def setup_cpu_distributed(cfg: Config) -> None:
    """Make ``launcher != 'none'`` work on machines without CUDA.

    mmengine initialises the default process group with the configured
    backend (nccl in mmseg's runtime) and wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]``; both need a GPU. Without CUDA the backend
    becomes gloo and the wrapper gets ``device_ids=None`` (CPU DDP). SyncBN
    needs CUDA, so BN layers stay plain BN there.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
    dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
        type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if not torch.distributed.is_initialized():
        # mmengine's _init_dist_pytorch calls torch.cuda.set_device first,
        # which fails on a CPU-only build; initialise the group here instead.
        torch.distributed.init_process_group(backend='gloo')
    _replace_syncbn(cfg.get('model'))


def _replace_syncbn(obj: Any) -> None:
    if isinstance(obj, dict):
        if obj.get('type') == 'SyncBN':
            obj['type'] = 'BN'
        for v in obj.values():
            _replace_syncbn(v)
    elif isinstance(obj, list):
        for v in obj:
            _replace_syncbn(v)


def enable_amp(cfg: Config, dtype: str = 'bfloat16') -> None:
    """Switch the optimizer wrapper to mmengine's AmpOptimWrapper.

    mmengine's AmpOptimWrapper needs an accelerator; on a CPU-only machine
    this raises a ConfigError instead of failing inside the runner.
    """
    if not torch.cuda.is_available():
        raise ConfigError(
            '--amp (optim_wrapper.type=AmpOptimWrapper) needs a GPU: mmengine '
            'supports mixed precision only on CUDA/NPU/MLU devices; train on '
            'the CPU without --amp (fp32 is the CPU default)')
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper == 'AmpOptimWrapper':
        return
    if optim_wrapper != 'OptimWrapper':
        raise ConfigError(
            f'--amp needs optim_wrapper.type OptimWrapper, got {optim_wrapper}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.dtype = dtype
    if dtype == 'float16':
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def enable_channels_last(cfg: Config) -> None:
    """Add :class:`ChannelsLastHook` (channels_last model and inputs) once."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') == 'ChannelsLastHook' for h in hooks):
        hooks.append(ConfigDict(type='ChannelsLastHook'))
    cfg.custom_hooks = hooks


def resolve_work_dir(cfg: Config, config_path: str,
                     work_dir: Optional[str]) -> str:
    """``--work-dir`` > ``cfg.work_dir`` > ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])
    return cfg.work_dir


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file with a clear error for a missing or broken one."""
    if not osp.isfile(path):
        raise ConfigError(f'config file {path!r} does not exist; configs live '
                          f'under configs/ (e.g. configs/ideal/unet_acdc.py)')
    try:
        cfg = Config.fromfile(path)
    except (SyntaxError, NameError, ImportError, KeyError, TypeError) as err:
        raise ConfigError(f'config {path!r} cannot be read: '
                          f'{type(err).__name__}: {err}') from err
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg



# --------------------------------------------------------------------------
# Start-up validation: every check below runs before the Runner is built, so
# a bad config fails in one line and leaves no work dir behind.
# --------------------------------------------------------------------------

# Dict keys whose ``type`` is not a registry name (e.g. split_cfg
# type='seeded' selects a split rule inside ACDCDataset).
_NON_COMPONENT_KEYS = ('split_cfg', )

# The registry a component under a top-level config key is expected in (the
# lookup itself accepts any mmseg registry, so e.g. a TASK_UTILS sampler
# inside a decode head is fine).
_EXPECTED_REGISTRY = (
    ('init_cfg', 'WEIGHT_INITIALIZERS'), ('pipeline', 'TRANSFORMS'),
    ('sampler', 'DATA_SAMPLERS'), ('batch_sampler', 'DATA_SAMPLERS'),
    ('dataset', 'DATASETS'), ('model_wrapper_cfg', 'MODEL_WRAPPERS'),
    ('model', 'MODELS'), ('hooks', 'HOOKS'), ('evaluator', 'METRICS'),
    ('optimizer', 'OPTIMIZERS'), ('optim_wrapper', 'OPTIM_WRAPPERS'),
    ('param_scheduler', 'PARAM_SCHEDULERS'), ('vis_backends', 'VISBACKENDS'),
    ('visualizer', 'VISUALIZERS'), ('log_processor', 'LOG_PROCESSORS'),
    ('_cfg', 'LOOPS'))

_REGISTRY_KEY_ERROR = re.compile(
    r"^'?(?P<type>\S+) is not in the (?P<registry>\S+) registry")


def _registries() -> Dict[str, Any]:
    import mmseg.registry as mmseg_registry
    return {name: getattr(mmseg_registry, name)
            for name in dir(mmseg_registry) if name.isupper()}


def _expected_registry(key: str) -> str:
    """The registry a component at config key ``key`` belongs in."""
    parts = re.split(r'[.\[]', key)
    for part in reversed(parts):
        for marker, registry in _EXPECTED_REGISTRY:
            if marker in part:
                return registry
    return 'MODELS'


def _iter_types(obj: Any, key: str) -> Iterator[Tuple[str, str]]:
    """Yield (config key, type name) for every string ``type`` below obj."""
    if isinstance(obj, dict):
        kind = obj.get('type')
        if isinstance(kind, str):
            yield key, kind
        for k, v in obj.items():
            if k not in _NON_COMPONENT_KEYS and k != 'type':
                yield from _iter_types(v, f'{key}.{k}' if key else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _iter_types(v, f'{key}[{i}]')


def check_registered_types(cfg: Config) -> None:
    """Raise ConfigError for a component ``type`` no registry knows.

    The message names the config key, the registry it was looked up in and
    the closest registered names. Scoped names (``'mmpretrain.X'``) whose
    package is not loaded are left to the Runner.
    """
    registries = _registries()
    for key, kind in _iter_types(cfg.to_dict(), ''):
        if any(reg.get(kind) is not None for reg in registries.values()):
            continue
        if '.' in kind:
            continue  # another scope: resolved (or reported) by the Runner
        expected = _expected_registry(key)
        raise ConfigError(
            f'{key}.type={kind!r} is not in the mmseg::'
            f'{registries[expected].name} registry{_suggest(kind, expected)};'
            ' fix the name, or add the module that registers it to '
            'custom_imports')


def _registered_names(registry: Any) -> List[str]:
    names: List[str] = []
    while registry is not None:
        names += list(registry.module_dict)
        registry = registry.parent
    return names


def _suggest(kind: str, registry_name: str) -> str:
    import difflib
    names = _registered_names(_registries()[registry_name])
    close = difflib.get_close_matches(kind, names, n=3, cutoff=0.6)
    return f' (did you mean {", ".join(map(repr, close))}?)' if close else ''


def registry_error(err: KeyError) -> Optional[ConfigError]:
    """A ConfigError for mmengine's "X is not in the Y registry", else None."""
    text = str(err.args[0]) if err.args else ''
    match = _REGISTRY_KEY_ERROR.match(text)
    if match is None:
        return None
    return ConfigError(
        f'type={match["type"]!r} is not in the {match["registry"]} registry;'
        ' fix the name in the config, or add the module that registers it '
        'to custom_imports')


@contextlib.contextmanager
def config_errors() -> Iterator[None]:
    """Turn mmengine's registry KeyError into a ConfigError; keep the rest.

    Only a KeyError whose message is the registry's own "... is not in the
    ... registry" is translated; any other KeyError is a bug and propagates
    with its traceback.
    """
    try:
        yield
    except KeyError as err:
        translated = registry_error(err)
        if translated is None:
            raise
        raise translated from None


_HEAD_KEY = re.compile(r'^(decode_head(_\d+)?|auxiliary_head)$')


def _heads(model: dict, key: str = 'model') -> Iterator[Tuple[str, dict]]:
    """(config key, head dict) for every decode / auxiliary head."""
    for k, v in model.items():
        if not _HEAD_KEY.match(str(k)) or v is None:
            continue
        items = v if isinstance(v, (list, tuple)) else [v]
        for i, head in enumerate(items):
            if isinstance(head, dict):
                sub = f'{key}.{k}' if len(items) == 1 else f'{key}.{k}[{i}]'
                yield sub, head


def _dataset_classes(dataset: Any) -> Optional[Tuple[str, Tuple[str, ...]]]:
    """(type name, classes) of a dataset config, looking into wrappers."""
    if not isinstance(dataset, dict):
        return None
    for inner_key in ('dataset', 'datasets'):
        inner = dataset.get(inner_key)
        inner = inner[0] if isinstance(inner, (list, tuple)) and inner \
            else inner
        if isinstance(inner, dict):
            return _dataset_classes(inner)
    metainfo = dataset.get('metainfo') or {}
    if metainfo.get('classes'):
        return str(dataset.get('type')), tuple(metainfo['classes'])
    kind = dataset.get('type')
    cls = _registries()['DATASETS'].get(kind) if isinstance(kind, str) \
        else kind
    classes = getattr(cls, 'METAINFO', {}).get('classes') if cls else None
    if not classes:
        return None
    return getattr(cls, '__name__', str(kind)), tuple(classes)


def check_num_classes(cfg: Config) -> None:
    """Raise ConfigError when heads disagree with each other or the data.

    Every ``decode_head*`` / ``auxiliary_head`` of the model must predict the
    same ``num_classes``, equal to the class count of each dataloader's
    dataset (its ``metainfo`` or the dataset class's ``METAINFO``).
    Binary heads (``num_classes`` 1 or 2 with ``out_channels`` 1) count as 2.
    """
    model = cfg.get('model')
    if not isinstance(model, dict):
        return
    heads = []
    for key, head in _heads(model):
        n = head.get('num_classes')
        if isinstance(n, int):
            heads.append((key, 2 if n == 1 else n))
    if not heads:
        return
    first_key, first_n = heads[0]
    for key, n in heads[1:]:
        if n != first_n:
            raise ConfigError(
                f'{first_key}.num_classes={first_n} but {key}.num_classes={n};'
                ' every decoder must predict the same classes')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset')
        found = _dataset_classes(dataset)
        if found is None:
            continue
        name, classes = found
        if len(classes) != first_n:
            raise ConfigError(
                f'{first_key}.num_classes={first_n} but {loader}.dataset '
                f'({name}) has {len(classes)} classes {classes}; set '
                f'num_classes={len(classes)} on every decoder (or change the '
                f'dataset metainfo)')


def check_label_budgets(cfg: Config) -> None:
    """Raise ConfigError for a ``label_budget`` no split can satisfy.

    A budget is an int >= 1 (patients), a float in (0, 1] (fraction) or
    None; the upper bound (the number of train patients) is checked when the
    dataset reads its split.
    """
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for key, budget in _iter_key(cfg.get(loader), 'label_budget',
                                     loader):
            if budget is None:
                continue
            ok = (isinstance(budget, int) and not isinstance(budget, bool)
                  and budget >= 1) or (isinstance(budget, float)
                                       and 0 < budget <= 1)
            if not ok:
                raise ConfigError(
                    f'{key}={budget!r}: a label budget is a number of '
                    'labelled patients (int >= 1) or a fraction in (0, 1]; '
                    'a supervised-only run uses label_budget=None')


def _iter_key(obj: Any, name: str, key: str) -> Iterator[Tuple[str, Any]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == name:
                yield f'{key}.{k}', v
            else:
                yield from _iter_key(v, name, f'{key}.{k}')
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _iter_key(v, name, f'{key}[{i}]')


def validate_config(cfg: Config) -> None:
    """Every start-up check: registered types, pre-trained files, classes,
    label budgets. Raises ConfigError before anything is written."""
    check_registered_types(cfg)
    check_pretrained_files(cfg)
    check_num_classes(cfg)
    check_label_budgets(cfg)


def _few(keys: List[str], n: int = 5) -> str:
    head = ', '.join(keys[:n])
    return head + (f', ... ({len(keys)} in all)' if len(keys) > n else '')


def read_checkpoint_state(checkpoint: str, option: str) -> Tuple[dict, dict]:
    """Load ``checkpoint`` safely; return (state dict without ``module.``, file).

    Raises CheckpointError for a missing file, a refused or corrupt pickle
    (see :mod:`ideal_mm.compat.checkpoint`) or a file that is not a dict.
    ``option`` names where the file came from (e.g. ``'load_from'``).
    """
    from mmengine.runner.checkpoint import _load_checkpoint

    from ..errors import CheckpointError
    if not osp.isfile(checkpoint):
        raise CheckpointError(
            f'{option}: checkpoint {checkpoint!r} does not exist; pass a .pth '
            'from a work dir (e.g. work_dirs/<config>/best_mDice_iter_*.pth)')
    ckpt = _load_checkpoint(checkpoint, map_location='cpu')
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'{option}: {checkpoint!r} holds a '
                              f'{type(ckpt).__name__}, not a checkpoint dict')
    state = ckpt.get('state_dict', ckpt)
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items()}
    return state, ckpt


def check_state_fits(model: Any, state: dict, checkpoint: str,
                     option: str) -> None:
    """Raise CheckpointError unless ``state`` has exactly ``model``'s tensors.

    Missing keys, unexpected keys and shape mismatches are reported (the
    first few of each); mmengine would otherwise only log a warning and go on
    with random weights.
    """
    from ..errors import CheckpointError
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(
        f'{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}'
        for k in set(state) & set(expected)
        if hasattr(state[k], 'shape') and state[k].shape != expected[k].shape)
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f'missing keys: {_few(missing, 3)}')
    if unexpected:
        parts.append(f'unexpected keys: {_few(unexpected, 3)}')
    if shapes:
        parts.append(f'shape mismatches (checkpoint vs model): '
                     f'{_few(shapes, 3)}')
    raise CheckpointError(
        f'{option}: {checkpoint!r} is not a checkpoint of this model '
        f'({"; ".join(parts)}); pass the config it was trained with (its work '
        'dir holds a copy), or load part of it with init_cfg=dict('
        "type='Pretrained', checkpoint=..., prefix='backbone.')")


def check_checkpoint_fits(cfg: Config, checkpoint: str, option: str) -> None:
    """Raise CheckpointError unless ``checkpoint`` holds exactly this model.

    The model is built from ``cfg.model`` (no weights are initialised or
    loaded) and compared with :func:`check_state_fits`.
    """
    from mmengine.registry import init_default_scope
    state, _ = read_checkpoint_state(checkpoint, option)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    with config_errors():
        from mmseg.registry import MODELS
        model = MODELS.build(copy.deepcopy(cfg.model))
    check_state_fits(model, state, checkpoint, option)
