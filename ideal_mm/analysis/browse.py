"""Look at what a config's pipeline yields, for every kind of config.

mmseg's ``tools/analysis_tools/browse_dataset.py`` draws one image with its
label per sample; this project's two stages feed their models things that
are easy to get wrong and impossible to judge from numbers, so this module
draws each kind as the model will see it:

* supervised / test pipelines: the slice after the pipeline with its label
  overlaid, one panel per input channel, titled with the volume (patient and
  frame) and the slice;
* stage 1 (``DenseContrastiveTwoView`` pipelines): the two views side by side
  with a sample of corresponding embedding cells joined by lines and the
  cells the loss ignores marked, computed by the loss's own code
  (:func:`ideal_mm.correspondence.dense_correspondence` with the model's cell
  geometry and embedding grid);
* stage 2 (models with ``semi_train_cfg``): labelled slices with their
  labels, each unlabelled slice's weak view with every stream's pseudo-label,
  its strong views, and the CutMix and copy-paste mixes with the targets the
  other stream is trained against, made by the model's own mixing code
  (:func:`model_mixes`) on an untrained model or a given checkpoint.

Each sample gives one PNG (stage 1 also a JSON of the drawn lines, in view
pixels, with the view matrices), and every run one ``montage.png``.
:func:`browse_dataset` is the entry point; ``tools/analysis/browse_dataset.py``
its command line.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import random
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ideal_mm.atomic_files import atomic_write_text
from ideal_mm.errors import ConfigError
from ideal_mm.model_config import head_configs
from ideal_mm.visualization.panels import (add_title, correspondence_panel,
                                           hstack_panels, label_panel,
                                           legend_strip, panel_montage,
                                           save_png, vstack_panels)

__all__ = ['config_kind', 'browse_dataset', 'pretrain_lines', 'model_mixes']

SPLITS = ('train', 'val', 'test')


def _seed(seed: int) -> None:
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def config_kind(cfg: Any, sample: Any, split: str) -> str:
    """'pretrain' (two-view samples), 'semi' (a ``semi_train_cfg`` model on
    the train split) or 'supervised' (anything else, e.g. val/test)."""
    if 'affine_q' in sample:
        return 'pretrain'
    if split == 'train' and 'semi_train_cfg' in cfg.get('model', {}):
        return 'semi'
    return 'supervised'


def _build_dataset(cfg: Any, split: str) -> Any:
    from mmseg.registry import DATASETS
    key = f'{split}_dataloader'
    loader = cfg.get(key)
    if not loader or 'dataset' not in loader:
        raise ConfigError(f'{key}: the config has no {split} data set; '
                          f'choose --split from the loaders it has')
    return DATASETS.build(loader['dataset'])


def _title(sample: Any) -> str:
    meta = sample.metainfo
    name = str(
        meta.get('volume_id', osp.basename(str(meta.get('img_path', '?')))))
    text = name.replace('_frame', ' frame ')
    if 'slice_idx' in meta:
        total = meta.get('num_slices')
        text += f' slice {meta["slice_idx"]}' + (f'/{total}' if total else '')
    return text


def _name(sample: Any, index: int) -> str:
    meta = sample.metainfo
    stem = str(meta.get('volume_id', 'sample'))
    if 'slice_idx' in meta:
        stem += f'_s{int(meta["slice_idx"]):02d}'
    return f'{index:04d}_{stem}'


def _labels(sample: Any, key: str = 'gt_sem_seg') -> Optional[np.ndarray]:
    if key not in sample:
        return None
    return getattr(sample, key).data[0].cpu().numpy()


def _meta(ds: Any) -> Tuple[List[str], List[List[int]]]:
    meta = getattr(ds, 'metainfo', {}) or {}
    classes = list(meta.get('classes') or ['background'])
    return classes, [list(c) for c in (meta.get('palette') or [])]


def _channel_panels(image: np.ndarray, labels: Optional[np.ndarray],
                    palette: Sequence[Sequence[int]], scale: int, title: str,
                    ignore_index: int) -> List[np.ndarray]:
    """One titled panel per channel of a (C, H, W) image."""
    c = image.shape[0]
    return [
        label_panel(image[i], labels, palette, scale,
                    f'{title} ch{i}' if c > 1 else title, ignore_index)
        for i in range(c)
    ]


# ---- supervised / test ----------------------------------------------------
def _supervised(ds: Any, indices: Sequence[int], scale: int,
                ignore_index: int) -> List[Tuple[str, np.ndarray, dict]]:
    classes, palette = _meta(ds)
    out = []
    for i in indices:
        item = ds[i]
        sample = item['data_samples']
        image = item['inputs'].float().numpy()
        panels = _channel_panels(image, _labels(sample), palette, scale,
                                 _title(sample), ignore_index)
        pic = hstack_panels(panels)
        pic = vstack_panels(
            [pic, legend_strip(classes, palette, pic.shape[1])])
        out.append((_name(sample, i), pic, {}))
    return out


# ---- stage 1 --------------------------------------------------------------
def pretrain_lines(model: Any, inputs: Any, sample: Any) -> Dict[str, Any]:
    """Every query cell of one view pair, its key point and validity, as
    the pre-training loss computes them.

    Runs the model's backbone and projection head on both views for the
    embedding grids, then :func:`ideal_mm.correspondence.dense_correspondence`
    with the arguments ``DenseContrastivePretrainer.loss`` passes (its
    ``cell_geometry``). The key points come back in ``grid_sample``
    coordinates; they are turned into key-view pixels by inverting that
    normalisation, so a wrong cell geometry or grid shows in the picture.

    Returns a dict of numpy arrays: ``query`` (N, 2) and ``key`` (N, 2)
    (x, y) in view pixels, ``valid`` (N,) bool, and ``grid_shape``,
    ``view_shape``, ``stride``/``offset`` (None when centre-aligned).
    """
    import torch

    from ideal_mm.correspondence import dense_correspondence
    from ideal_mm.geometry import cell_centres
    x_q, x_k = model.split_views(inputs[None].float())
    with torch.no_grad():
        emb_q = model.proj_head(model.backbone(x_q))
        emb_k = model.proj_head(model.backbone(x_k))
    h, w = x_q.shape[-2:]
    hg, wg = emb_q.shape[-2:]
    geom = getattr(model, 'cell_geometry', None)
    extra = {} if geom is None else dict(
        stride=geom.stride,
        offset=geom.offset,
        key_grid_shape=emb_k.shape[-2:])
    corr, valid = dense_correspondence(sample.affine_q[None],
                                       sample.affine_k[None],
                                       sample.src_shape[None], (h, w),
                                       (hg, wg), **extra)
    u = corr[0, ..., 0].double().reshape(-1)
    v = corr[0, ..., 1].double().reshape(-1)
    if geom is None:
        ys, xs = cell_centres(hg, h), cell_centres(wg, w)
        kx, ky = ((u + 1) * w - 1) / 2, ((v + 1) * h - 1) / 2
        stride = offset = None
    else:
        ys, xs = geom.centres((hg, wg))
        hk, wk = emb_k.shape[-2:]
        kx = geom.offset[1] + geom.stride[1] * ((u + 1) * wk - 1) / 2
        ky = geom.offset[0] + geom.stride[0] * ((v + 1) * hk - 1) / 2
        stride, offset = list(geom.stride), list(geom.offset)
    gy, gx = torch.meshgrid(ys.double(), xs.double(), indexing='ij')
    return dict(
        query=torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).numpy(),
        key=torch.stack([kx, ky], 1).numpy(),
        valid=valid[0].reshape(-1).numpy(),
        grid_shape=[int(hg), int(wg)],
        view_shape=[int(h), int(w)],
        stride=stride,
        offset=offset)


def _pretrain(cfg: Any, ds: Any, indices: Sequence[int], scale: int,
              num_lines: int, seed: int) -> List[Tuple[str, np.ndarray, dict]]:
    from mmseg.registry import MODELS
    model = MODELS.build(cfg.model)
    model.eval()
    rng = np.random.default_rng(seed)
    out = []
    for i in indices:
        item = ds[i]
        sample = item['data_samples']
        inputs = item['inputs']
        res = pretrain_lines(model, inputs, sample)
        valid = res['valid']
        chosen = np.flatnonzero(valid)
        if len(chosen) > num_lines:
            chosen = np.sort(rng.choice(chosen, num_lines, replace=False))
        lines = np.concatenate([res['query'][chosen], res['key'][chosen]], 1)
        invalid = res['query'][~valid]
        c = inputs.shape[0] // 2
        views = inputs.float().numpy()
        geometry = ('centre-aligned' if res['stride'] is None
                    else 'stride {:g} offset {:g}'.format(
                        res['stride'][1], res['offset'][1]))
        cells = (f'{res["grid_shape"][0]}x{res["grid_shape"][1]} cells '
                 f'({geometry}): {int(valid.sum())} valid, '
                 f'x {len(invalid)} invalid')
        pic = correspondence_panel(
            views[0], views[c], lines, invalid, scale, title=cells)
        pic = add_title(pic, f'{_title(sample)}: query | key view')
        record = dict(
            volume_id=sample.metainfo.get('volume_id'),
            slice_idx=sample.metainfo.get('slice_idx'),
            affine_q=sample.affine_q.tolist(),
            affine_k=sample.affine_k.tolist(),
            src_shape=sample.src_shape.tolist(),
            view_shape=res['view_shape'],
            grid_shape=res['grid_shape'],
            stride=res['stride'],
            offset=res['offset'],
            lines=lines.tolist(),
            invalid=invalid.tolist())
        out.append((_name(sample, i), pic, record))
    return out


# ---- stage 2 --------------------------------------------------------------
def model_mixes(model: Any, inputs: Any, data_samples: List[Any],
                labelled: List[int], unsup: List[int]) -> Dict[str, Any]:
    """Views, pseudo-labels and mixes of one batch, by the model's own code.

    The single place that calls into the semi-supervised segmentor: its
    ``split_views``, ``forward_train`` and ``get_pseudo_labels`` template
    steps, then each of its ``unsup_branches`` as training runs it, with
    the student's ``extract_feat`` and the model's ``pseudo_label_losses``
    watched to read what the branch feeds the network and the targets it
    trains against. ``inputs`` is the preprocessed batch (B, C * views, H,
    W).

    Returns a dict of tensors (on the CPU): ``views`` (list: weak, strong
    ...), ``pseudo`` (list per stream of (len(unsup), H, W) targets with
    ignored pixels at ``ignore_index``), ``strong`` / ``strong_targets``
    (what a ``StrongViewPseudoLabel`` branch decodes, after its CutMix, and
    the per-stream targets), ``copy_paste`` / ``cp_targets`` (the
    ``BidirectionalCopyPaste`` branch's inputs and per-stream targets), and
    ``cutmix_prob`` (of the strong-view branch, 0 without one).
    """
    import torch

    from ideal_mm.models.segmentors.semi_base import SemiBatch
    views = model.split_views(inputs)
    out: Dict[str, Any] = dict(
        views=[v.cpu() for v in views],
        pseudo=[],
        strong=None,
        strong_targets=None,
        copy_paste=None,
        cp_targets=None,
        cutmix_prob=0.0)
    branches = list(getattr(model, 'unsup_branches', []))
    with torch.no_grad():
        feats, logits = model.forward_train(views[0])
        batch = SemiBatch(views, data_samples, labelled, unsup, 1.0, feats,
                          logits)
        pseudo = model.get_pseudo_labels(batch, {}) if unsup else None
        if pseudo is None:
            return out
        out['pseudo'] = [y.cpu() for y in pseudo.labels]
        extract = model.student.extract_feat
        first = 1
        for branch in branches:
            seen: Dict[str, Any] = {}

            def spy(x: torch.Tensor) -> Any:
                seen['inputs'] = x
                return extract(x)

            def targets(z: Any, labels: Sequence[torch.Tensor], name: str,
                        weight: float) -> Dict[str, Any]:
                seen['targets'] = list(labels)
                return {}

            bviews = views[first:first + branch.num_views]
            first += branch.num_views
            model.student.extract_feat = spy
            model.pseudo_label_losses = targets
            try:
                branch(model, batch, pseudo, bviews)
            finally:
                del model.student.extract_feat
                del model.pseudo_label_losses
            if 'inputs' not in seen:  # decodes no new input (weak, fp)
                continue
            kind = type(branch).__name__
            mixed = seen['inputs'].cpu()
            tgts = [t.cpu() for t in seen['targets']]
            if kind == 'StrongViewPseudoLabel':
                out['strong'], out['strong_targets'] = mixed, tgts
                out['cutmix_prob'] = float(branch.cutmix_prob)
            elif kind == 'BidirectionalCopyPaste':
                out['copy_paste'], out['cp_targets'] = mixed, tgts
    return out


def _semi(cfg: Any, ds: Any, indices: Sequence[int], scale: int,
          checkpoint: Optional[str],
          ignore_index: int) -> List[Tuple[str, np.ndarray, dict]]:
    from mmseg.registry import MODELS
    classes, palette = _meta(ds)
    model = MODELS.build(cfg.model)
    if checkpoint:
        if not osp.isfile(checkpoint):
            raise ConfigError(f'--checkpoint {checkpoint} does not exist')
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, checkpoint, map_location='cpu', logger=None)
    model.eval()
    items = [ds[i] for i in indices]
    batch = model.data_preprocessor(
        dict(
            inputs=[it['inputs'] for it in items],
            data_samples=[it['data_samples'] for it in items]), True)
    samples = batch['data_samples']
    labelled = [i for i, s in enumerate(samples) if 'gt_sem_seg' in s]
    unsup = [i for i, s in enumerate(samples) if 'gt_sem_seg' not in s]
    mixes = model_mixes(model, batch['inputs'], samples, labelled, unsup)
    views = [v.numpy() for v in mixes['views']]
    streams = len(mixes['pseudo'])
    src = 'checkpoint' if checkpoint else 'untrained model'
    out = []

    def panel(img: np.ndarray, lab: Optional[np.ndarray],
              title: str) -> np.ndarray:
        return label_panel(img[0], lab, palette, scale, title, ignore_index)

    def finish(rows: List[np.ndarray]) -> np.ndarray:
        pic = vstack_panels(rows)
        return vstack_panels(
            [pic, legend_strip(classes, palette, pic.shape[1])])

    for row, i in enumerate(labelled):
        s = samples[i]
        pic = finish([
            hstack_panels([
                panel(views[0][i], None, f'labelled: {_title(s)}'),
                panel(views[0][i], _labels(s), 'label')
            ])
        ])
        out.append((_name(s, indices[i]) + '_labelled', pic, {}))
    n_u = len(unsup)
    for r, i in enumerate(unsup):
        s = samples[i]
        rows = [
            hstack_panels([panel(views[0][i], None, 'weak view')] + [
                panel(views[0][i], mixes['pseudo'][k][r].numpy(),
                      f'pseudo-label s{k + 1}') for k in range(streams)
            ])
        ]
        for v in range(1, len(views)):
            j = (v - 1) * n_u + r
            strong = [panel(views[v][i], None, f'strong view {v}')]
            if mixes['strong'] is not None:
                mixed = mixes['strong'][j].numpy()
                strong.append(
                    panel(
                        mixed, None, 'after CutMix'
                        if mixes['cutmix_prob'] else 'as trained'))
                strong += [
                    panel(mixed, t[j].numpy(), f'target from s{k + 1}')
                    for k, t in enumerate(mixes['strong_targets'])
                ]
            rows.append(hstack_panels(strong))
        pic = add_title(
            finish(rows), f'unlabelled: {_title(s)}, '
            f'pseudo-labels of the {src}')
        out.append((_name(s, indices[i]) + '_unlabelled', pic, {}))
    if mixes['copy_paste'] is not None:
        cp = mixes['copy_paste'].numpy()
        n = cp.shape[0] // 2
        for j in range(n):
            rows = []
            for half, name in ((0, 'labelled + unlabelled box'),
                               (1, 'unlabelled + labelled box')):
                x = cp[half * n + j]
                rows.append(
                    hstack_panels([panel(x, None, name)] + [
                        panel(x, t[half * n + j].numpy(), f'target: s{k + 1} '
                              '+ label')
                        for k, t in enumerate(mixes['cp_targets'])
                    ]))
            pic = add_title(
                finish(rows), f'copy-paste pair {j}: '
                f'{_title(samples[labelled[j]])} and '
                f'{_title(samples[unsup[j]])}')
            out.append((f'copy_paste_{j:02d}', pic, {}))
    return out


def _pick_semi(ds: Any, num: int, seed: int) -> List[int]:
    """Up to ``num`` labelled and ``num`` unlabelled sample indices."""
    order = np.random.default_rng(seed).permutation(len(ds))
    labelled: List[int] = []
    unlabelled: List[int] = []
    for i in order:
        info = ds.get_data_info(int(i))
        bucket = labelled if info.get('labelled', True) else unlabelled
        if len(bucket) < num:
            bucket.append(int(i))
        if len(labelled) >= num and len(unlabelled) >= num:
            break
    return labelled + unlabelled


def browse_dataset(config: str,
                   out_dir: str,
                   num: int = 4,
                   split: str = 'train',
                   cfg_options: Optional[dict] = None,
                   checkpoint: Optional[str] = None,
                   seed: int = 0,
                   scale: int = 3,
                   num_lines: int = 24,
                   log: Callable[[str], None] = print) -> List[str]:
    """Draw ``num`` samples of ``config``'s ``split`` data into ``out_dir``.

    Returns the written PNG paths, ``montage.png`` last. See the module
    docstring for what each kind of config shows. ``seed`` seeds the
    pipeline's and the model's random draws, so a run can be repeated.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import ideal_mm
    if split not in SPLITS:
        raise ConfigError(f'--split must be one of {SPLITS}, got {split!r}')
    if num < 1:
        raise ConfigError(f'--num must be >= 1, got {num}')
    if not osp.isfile(config):
        raise ConfigError(f'config {config} does not exist')
    ideal_mm.register_all_modules()
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    _seed(seed)
    ds = _build_dataset(cfg, split)
    if len(ds) == 0:
        raise ConfigError(f'{split}_dataloader.dataset of {config} is empty')
    kind = config_kind(cfg, ds[0]['data_samples'], split)
    heads = head_configs(cfg.get('model'))
    ignore_index = int(heads[0][1].get('ignore_index', 255)) if heads \
        else 255
    _seed(seed)
    if kind == 'semi':
        indices = _pick_semi(ds, num, seed)
        pictures = _semi(cfg, ds, indices, scale, checkpoint, ignore_index)
    else:
        indices = sorted(
            set(
                np.linspace(0,
                            len(ds) - 1,
                            min(num, len(ds))).round().astype(int).tolist()))
        pictures = (
            _pretrain(cfg, ds, indices, scale, num_lines, seed) if kind
            == 'pretrain' else _supervised(ds, indices, scale, ignore_index))
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, pic, record in pictures:
        path = save_png(osp.join(out_dir, name + '.png'), pic)
        written.append(path)
        if record:
            atomic_write_text(
                osp.join(out_dir, name + '.json'),
                json.dumps(record, indent=1))
    montage = panel_montage([p for _, p, _ in pictures])
    title = f'{osp.basename(config)} ({kind}, {split} split)'
    written.append(
        save_png(osp.join(out_dir, 'montage.png'), add_title(montage, title)))
    log(f'{kind} config: wrote {len(pictures)} picture(s) and '
        f'{written[-1]}')
    return written
