"""The one walk over a config's nested dicts and lists.

Every start-up check and command-line edit that looks into a config (init_cfg
files, component types, label budgets, SyncBN, Pretrained weights, the
datasets of a dataloader, the metrics of an evaluator) goes through
:func:`iter_dicts`, so key paths are spelled the same everywhere
(``model.decode_head.loss_decode[0]``, the form ``--cfg-options`` accepts);
the inference API drops Pretrained weights with :func:`drop_pretrained`.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, List, Sequence, Tuple


def _child(key: str, name: Any) -> str:
    return f'{key}.{name}' if key else str(name)


def iter_dicts(
        obj: Any,
        key: str = '',
        skip: Sequence[str] = (),
) -> Iterator[Tuple[str, dict]]:
    """Yield ``(key path, dict)`` for ``obj`` and every dict below it.

    Pre-order, through dict values and list / tuple items; the values of keys
    named in ``skip`` are not entered. A dict may be edited when it is yielded
    (its items are read after that), e.g. a value replaced by None.
    """
    if isinstance(obj, dict):
        yield key, obj
        for k, v in list(obj.items()):
            if k not in skip:
                yield from iter_dicts(v, _child(key, k), skip)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from iter_dicts(v, f'{key}[{i}]', skip)


def iter_key(obj: Any, name: str, key: str = '') -> Iterator[Tuple[str, Any]]:
    """Yield ``(key path, value)`` of every key ``name`` below ``obj``
    (values under a matched key are not searched again)."""
    for path, d in iter_dicts(obj, key, skip=(name, )):
        if name in d:
            yield _child(path, name), d[name]


def iter_types(
        obj: Any,
        key: str = '',
        skip: Sequence[str] = (),
) -> Iterator[Tuple[str, str]]:
    """Yield ``(key path, type name)`` for every dict with a string
    ``type``."""
    for path, d in iter_dicts(obj, key, skip=tuple(skip) + ('type', )):
        if isinstance(d.get('type'), str):
            yield path, d['type']


def iter_init_cfgs(obj: Any, key: str = 'model') -> Iterator[Tuple[str, dict]]:
    """Yield ``(key path of the init_cfg, init_cfg dict)`` below ``obj``;
    an init_cfg list yields each of its dicts under the same key."""
    for path, init_cfg in iter_key(obj, 'init_cfg', key):
        items = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
        for item in items:
            if isinstance(item, dict):
                yield path, item


def _is_pretrained(init_cfg: Any) -> bool:
    return isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'


def drop_pretrained(obj: Any) -> None:
    """Remove every ``Pretrained`` init_cfg (alone or in a list) and every
    ``pretrained='file'`` below ``obj``, in place.

    Used where the weights come from a checkpoint of the whole model (test,
    inference, benchmarks with random weights): stage-1 encoder files need
    not exist there.
    """
    for _, d in iter_dicts(obj):
        init_cfg = d.get('init_cfg')
        if _is_pretrained(init_cfg):
            d['init_cfg'] = None
        elif isinstance(init_cfg, (list, tuple)):
            kept = [c for c in init_cfg if not _is_pretrained(c)]
            d['init_cfg'] = kept or None
        if isinstance(d.get('pretrained'), str):
            d['pretrained'] = None


def replace_types(obj: Any, old: str, new: str) -> None:
    """Rename component type ``old`` to ``new`` everywhere below ``obj``."""
    for _, d in iter_dicts(obj):
        if d.get('type') == old:
            d['type'] = new


_DATASET_PATH = re.compile(r'^dataset(\.dataset|\.datasets\[\d+\])*$')


def dataloader_datasets(loader: Any) -> Iterator[dict]:
    """Every dataset dict of a dataloader config: its ``dataset``, then the
    datasets that wrappers hold (``dataset`` / ``datasets``), pre-order."""
    if not isinstance(loader, dict):
        return
    for path, d in iter_dicts(
            loader.get('dataset'),
            'dataset',
            skip=('pipeline', 'metainfo', 'split_cfg')):
        if _DATASET_PATH.match(path):
            yield d


def evaluator_metrics(evaluator: Any) -> List[dict]:
    """The metric dicts of an evaluator config: a metric, a list of them, or
    mmengine's ``dict(type='Evaluator', metrics=...)``."""
    if evaluator is None:
        return []
    items = evaluator
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        items = evaluator['metrics']
    items = items if isinstance(items, (list, tuple)) else [items]
    return [item for item in items if isinstance(item, dict)]
