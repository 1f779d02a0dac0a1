"""Start-up checks of a config: everything below runs before the Runner is
built, so a bad config fails in one line and leaves no work dir behind.

* :func:`check_registered_types` - every ``type`` is in a registry (the
  lookup is the registries' own ``get``; the message names the config key,
  the registry the key belongs to and the closest registered names);
* :func:`check_pretrained_files` - a ``Pretrained`` init_cfg that names a
  local file which does not exist, with the command that creates it (what
  the file holds is checked, tensor by tensor, when it is loaded:
  :class:`~ideal_mm.engine.encoder_loading.VerifiedInitHook`);
* :func:`check_num_classes` - decoders that disagree with each other or with
  the dataset's classes (the dataset class's own ``METAINFO``);
* :func:`check_label_budgets` - a budget of the wrong type or range, with the
  config key (``select_labelled`` in ideal_mm.datasets.splits checks the
  upper bound once the split is read);
* :func:`config_errors` - mmengine's "X is not in the Y registry" KeyError
  raised while the Runner builds a component, as a ConfigError.
"""
from __future__ import annotations

import contextlib
import difflib
import os.path as osp
import re
from typing import Any, Dict, Iterator, List, Optional, Tuple

from mmengine.config import Config

from ..errors import ConfigError
from .config_walk import (dataloader_datasets, iter_init_cfgs, iter_key,
                          iter_types)

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

# Dict keys whose ``type`` is not a registry name (e.g. split_cfg
# type='seeded' selects a split rule inside ACDCDataset).
_NON_COMPONENT_KEYS = ('split_cfg', )

# The registry a component under a top-level config key is expected in (the
# lookup itself accepts any mmseg registry, so e.g. a TASK_UTILS sampler
# inside a decode head is fine).
_EXPECTED_REGISTRY = (('init_cfg', 'WEIGHT_INITIALIZERS'),
                      ('pipeline', 'TRANSFORMS'), ('sampler', 'DATA_SAMPLERS'),
                      ('batch_sampler',
                       'DATA_SAMPLERS'), ('dataset',
                                          'DATASETS'), ('model_wrapper_cfg',
                                                        'MODEL_WRAPPERS'),
                      ('model', 'MODELS'), ('hooks', 'HOOKS'), ('evaluator',
                                                                'METRICS'),
                      ('optimizer', 'OPTIMIZERS'), ('optim_wrapper',
                                                    'OPTIM_WRAPPERS'),
                      ('param_scheduler', 'PARAM_SCHEDULERS'), ('vis_backends',
                                                                'VISBACKENDS'),
                      ('visualizer',
                       'VISUALIZERS'), ('log_processor',
                                        'LOG_PROCESSORS'), ('_cfg', 'LOOPS'))

_REGISTRY_KEY_ERROR = re.compile(
    r"^'?(?P<type>\S+) is not in the (?P<registry>\S+) registry")


def _registries() -> Dict[str, Any]:
    import mmseg.registry as mmseg_registry
    return {
        name: getattr(mmseg_registry, name)
        for name in dir(mmseg_registry) if name.isupper()
    }


def _expected_registry(key: str) -> str:
    """The registry a component at config key ``key`` belongs in."""
    parts = re.split(r'[.\[]', key)
    for part in reversed(parts):
        for marker, registry in _EXPECTED_REGISTRY:
            if marker in part:
                return registry
    return 'MODELS'


def check_registered_types(cfg: Config) -> None:
    """Raise ConfigError for a component ``type`` no registry knows.

    The message names the config key, the registry it was looked up in and
    the closest registered names. Scoped names (``'mmpretrain.X'``) whose
    package is not loaded are left to the Runner.
    """
    registries = _registries()
    for key, kind in iter_types(cfg.to_dict(), skip=_NON_COMPONENT_KEYS):
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


def check_pretrained_files(cfg: Config) -> None:
    """Raise ConfigError when a Pretrained init_cfg names a missing local file.

    The message gives the config key, the command that creates the file when
    the config names one (``pretrain_config = '...'``) and how to train from
    scratch instead.
    """
    for key, init_cfg in iter_init_cfgs(cfg.get('model', {})):
        if init_cfg.get('type') != 'Pretrained':
            continue
        ckpt = init_cfg.get('checkpoint')
        if not isinstance(ckpt, str) or '://' in ckpt:
            continue
        if ckpt.startswith(('open-mmlab', 'mmcls', 'torchvision')):
            continue
        if osp.isfile(ckpt):
            continue
        hint = ''
        pretrain_config = cfg.get('pretrain_config')
        if pretrain_config:
            hint = (
                f' Create it with `python tools/train.py {pretrain_config}`'
                f' (or `bash tools/run_ideal.sh {pretrain_config} '
                f'<finetune config>`), pass another file with '
                f'--cfg-options {key}.checkpoint=PATH,')
        else:
            hint = (f' Pass an existing file with --cfg-options '
                    f'{key}.checkpoint=PATH,')
        raise ConfigError(
            f'pre-trained weights {ckpt!r} ({key}.checkpoint) do not exist.'
            f'{hint} or train from scratch with --cfg-options {key}=None.')


_HEAD_KEY = re.compile(r'^(decode_head(_\d+)?|auxiliary_head)$')


def _heads(model: dict, key: str = 'model') -> Iterator[Tuple[str, dict]]:
    """(config key, head dict) for every decode / auxiliary head, the
    student segmentor's (``model.segmentor``) first."""
    student = model.get('segmentor')
    if isinstance(student, dict):
        yield from _heads(student, f'{key}.segmentor')
    for k, v in model.items():
        if not _HEAD_KEY.match(str(k)) or v is None:
            continue
        items = v if isinstance(v, (list, tuple)) else [v]
        for i, head in enumerate(items):
            if isinstance(head, dict):
                sub = f'{key}.{k}' if len(items) == 1 else f'{key}.{k}[{i}]'
                yield sub, head


def _dataset_classes(loader: Any) -> Optional[Tuple[str, Tuple[str, ...]]]:
    """(type name, classes) of a dataloader's (first wrapped) dataset."""
    dataset = next((d for d in dataloader_datasets(loader)
                    if 'dataset' not in d and 'datasets' not in d), None)
    if dataset is None:
        return None
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
    for loader in LOADERS:
        found = _dataset_classes(cfg.get(loader))
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
    for loader in LOADERS:
        for key, budget in iter_key(cfg.get(loader), 'label_budget', loader):
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


def validate_config(cfg: Config) -> None:
    """Every start-up check: registered types, pre-trained files, classes,
    label budgets, and channels / classes against a data set's dataset.json
    (nnU-Net, MSD). Raises ConfigError before anything is written."""
    from ideal_mm.datasets.config_checks import check_dataset_config
    check_registered_types(cfg)
    check_pretrained_files(cfg)
    check_num_classes(cfg)
    check_label_budgets(cfg)
    check_dataset_config(cfg)
