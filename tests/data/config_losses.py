"""Golden losses of every shipped semi-supervised and pre-training config.

For each config under ``configs/`` whose model is a
``SemiSupervisedSegmentor`` subclass or a ``DenseContrastivePretrainer``,
build the model, give every parameter a value that depends only on its
*canonical* name (so a refactor that renames or reorders modules can map the
new names back, see :func:`canonical_name`), and run ``loss()`` on a fixed
generated batch (2 labelled + 2 unlabelled 32x32 slices, one of them padded,
hidden ``oracle_sem_seg`` labels, the runner iteration set to
:data:`ITER`) with a fixed torch seed. The loss dict's values are stored in
``config_losses.json`` next to this file; ``tests/test_config_losses.py``
checks that the code in the tree still gives them.

Regenerate (only when a behaviour change is intended, and say so in the
commit)::

    PYTHONPATH=. python tests/data/config_losses.py --write

Add a new config, keeping every other entry as it is::

    PYTHONPATH=. python tests/data/config_losses.py --write --only configs/x.py

Identical resolved model configs (e.g. label-budget variants) are computed
once.
"""
from __future__ import annotations

import argparse
import copy
import glob
import json
import os.path as osp
import zlib
from typing import Dict, List, Optional, Tuple

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GOLDEN = osp.join(osp.dirname(osp.abspath(__file__)), 'config_losses.json')
ITER = 20000
SIZE = 32
SEED = 1234


def canonical_name(name: str, model_type: str) -> Optional[str]:
    """The name a parameter had when the golden file was written, or None
    for a parameter whose value is derived from others (EMA copies).

    When a refactor moves modules, map the new names here (the golden file
    also stores the canonical names, and the test checks they all appear).
    Issue 23 moved ``BiConsistencySemiSupModel``'s encoder and first decoder
    into its student (``backbone.*`` -> ``student.backbone.*``,
    ``decode_head_1.*`` -> ``student.decode_head.*``).
    """
    if name.startswith(('teacher.', 'key_branch.')):
        return None
    if model_type == 'BiConsistencySemiSupModel' and \
            name.startswith('student.'):
        name = name[len('student.'):]
        if name.startswith('decode_head.'):
            name = 'decode_head_1.' + name[len('decode_head.'):]
    return name


def _walk(obj, fn) -> None:
    if isinstance(obj, dict):
        fn(obj)
        for v in obj.values():
            _walk(v, fn)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _walk(v, fn)


def model_config(path: str):
    """The config's model with SyncBN -> BN and no pretrained files."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    model = copy.deepcopy(cfg.model)

    def fix(d):
        if d.get('type') == 'SyncBN':
            d['type'] = 'BN'
        init = d.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            d['init_cfg'] = None
        if d.get('pretrained') is not None:
            d['pretrained'] = None

    _walk(model, fix)
    return cfg, model


def num_strong_views(cfg) -> int:
    """``num_strong`` of a ``WeakStrongViews`` (or ``UniMatchStrongViews``)
    transform in the train pipeline (0 without one)."""
    found = []

    def look(d):
        if d.get('type') in ('WeakStrongViews', 'UniMatchStrongViews'):
            found.append(int(d.get('num_strong', 1)))

    _walk(cfg.get('train_dataloader', {}), look)
    return found[0] if found else 0


def is_covered(path: str) -> bool:
    """True for semi-supervised and pre-training model configs."""
    # isort: off
    import ideal_mm  # noqa: F401  (registers; compat before mmseg)
    from mmengine.config import Config
    from mmseg.registry import MODELS
    # isort: on

    from ideal_mm.models.segmentors import SemiSupervisedSegmentor
    from ideal_mm.models.selfsup.dense_pretrainer import \
        DenseContrastivePretrainer
    model = Config.fromfile(path).get('model')
    if not model or not model.get('type'):
        return False
    cls = MODELS.get(model['type'])
    return cls is not None and issubclass(
        cls, (SemiSupervisedSegmentor, DenseContrastivePretrainer))


def covered_configs() -> List[str]:
    """Repository-relative paths of the covered configs."""
    paths = sorted(
        glob.glob(osp.join(REPO, 'configs/**/*.py'), recursive=True))
    return [
        osp.relpath(p, REPO) for p in paths
        if '_base_' not in p and is_covered(p)
    ]


def set_parameters(model: torch.nn.Module, model_type: str) -> List[str]:
    """Give each parameter values from a generator seeded by its canonical
    name (scaled by fan-in); return the canonical names set."""
    names = []
    for name, p in model.named_parameters():
        cname = canonical_name(name, model_type)
        if cname is None:
            continue
        g = torch.Generator().manual_seed(zlib.crc32(cname.encode()))
        fan_in = max(1, p[0].numel()) if p.dim() > 1 else 1
        value = torch.randn(p.shape, generator=g) / fan_in**0.5
        if p.dim() == 1:
            value = 1.0 + 0.1 * value if cname.endswith('.weight') \
                else 0.1 * value
        with torch.no_grad():
            p.copy_(value)
        names.append(cname)
    return sorted(names)


def segmentation_batch(num_classes: int, in_channels: int,
                       views: int) -> Tuple[torch.Tensor, list]:
    """2 labelled + 2 unlabelled samples; views channel groups each."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(SEED)
    inputs = torch.randn((4, in_channels * views, SIZE, SIZE), generator=g)
    samples = []
    for i in range(4):
        pad = (0, 4, 0, 4) if i == 3 else (0, 0, 0, 0)
        s = SegDataSample(
            metainfo=dict(
                ori_shape=(SIZE, SIZE),
                img_shape=(SIZE, SIZE),
                pad_shape=(SIZE, SIZE),
                padding_size=pad))
        # blocky labels (4x4 cells) so that Dice terms see regions
        cells = torch.randint(
            0, num_classes, (1, SIZE // 4, SIZE // 4), generator=g)
        label = cells.repeat_interleave(4, 1).repeat_interleave(4, 2)
        if i < 2:
            s.gt_sem_seg = PixelData(data=label)
        else:
            s.oracle_sem_seg = PixelData(data=label)
        samples.append(s)
    return inputs, samples


def pretrain_batch(in_channels: int) -> Tuple[torch.Tensor, list]:
    """4 view pairs; the key view is shifted by (2, 3) pixels."""
    from mmengine.structures import BaseDataElement
    g = torch.Generator().manual_seed(SEED)
    inputs = torch.randn((4, 2 * in_channels, SIZE, SIZE), generator=g)
    samples = []
    for _ in range(4):
        s = BaseDataElement()
        s.affine_q = torch.eye(3, dtype=torch.float64)
        k = torch.eye(3, dtype=torch.float64)
        k[0, 2], k[1, 2] = 3.0, 2.0
        s.affine_k = k
        s.src_shape = torch.tensor([SIZE, SIZE])
        samples.append(s)
    return inputs, samples


def prepare(model: torch.nn.Module) -> None:
    """What a training run does before the iteration measured: one EMA
    step of the teacher / key branch (the first one copies the student /
    query branch)."""
    if getattr(model, 'ema_teacher', None) is not None:
        model.update_teacher()


def compute_losses(path: str) -> Tuple[Dict[str, float], List[str]]:
    """(loss dict as floats, canonical parameter names) of one config."""
    # isort: off
    import ideal_mm  # noqa: F401  (compat before mmseg)
    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    # isort: on
    init_default_scope('mmseg')
    cfg, model_cfg = model_config(osp.join(REPO, path))
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    names = set_parameters(model, model_cfg['type'])
    model.train()
    prepare(model)
    backbone = model_cfg.get('backbone') or \
        model_cfg.get('segmentor', {}).get('backbone', {})
    in_channels = int(backbone.get('in_channels', 1))
    if model_cfg['type'] == 'DenseContrastivePretrainer':
        inputs, samples = pretrain_batch(in_channels)
    else:
        inputs, samples = segmentation_batch(
            int(model.num_classes), in_channels, 1 + num_strong_views(cfg))
    MessageHub.get_current_instance().update_info('iter', ITER)
    try:
        torch.manual_seed(SEED)
        losses = model.loss(inputs, samples)
    finally:
        MessageHub.get_current_instance().update_info('iter', 0)
    out = {}
    for key, value in sorted(losses.items()):
        if isinstance(value, (list, tuple)):
            value = sum(value)
        out[key] = float(torch.as_tensor(value).detach().sum())
    return out, names


def names_digest(names: List[str]) -> str:
    """Count and CRC32 of the sorted canonical parameter names."""
    return f'{len(names)}:{zlib.crc32(chr(10).join(names).encode()):08x}'


def model_key(path: str) -> str:
    """Identity of what ``compute_losses`` depends on (model + views)."""
    cfg, model = model_config(osp.join(REPO, path))
    return json.dumps([model.to_dict(), num_strong_views(cfg)],
                      sort_keys=True,
                      default=str)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--write', action='store_true', help=f'write {GOLDEN}')
    parser.add_argument(
        '--only',
        nargs='+',
        metavar='CONFIG',
        help='compute (and with --write, store) only these configs, keeping '
        'every other entry of the golden file: how a new config is added '
        'without re-deriving the others')
    args = parser.parse_args()
    torch.set_num_threads(1)
    results, cache = {}, {}
    paths = covered_configs()
    if args.only:
        unknown = sorted(set(args.only) - set(paths))
        if unknown:
            raise SystemExit(f'not a covered config (path relative to the '
                             f'repository, e.g. configs/demo/x.py): {unknown}')
        with open(GOLDEN) as f:
            results = json.load(f)
        paths = args.only
    for path in paths:
        key = model_key(path)
        if key not in cache:
            cache[key] = compute_losses(path)
        losses, names = cache[key]
        results[path] = dict(losses=losses, parameters=names_digest(names))
        print(
            path,
            losses.get('loss_dense',
                       losses.get('sup.s1.loss_ce',
                                  losses.get('sup.loss_ce'))))
    if args.write:
        with open(GOLDEN + '.tmp', 'w') as f:
            json.dump(results, f, indent=1, sort_keys=True)
            f.write('\n')
        import os
        os.replace(GOLDEN + '.tmp', GOLDEN)


if __name__ == '__main__':
    main()
