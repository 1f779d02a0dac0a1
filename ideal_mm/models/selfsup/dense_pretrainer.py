"""IDEAL stage 1: dense contrastive pre-training of any mmseg encoder.

mmseg has no self-supervised model and mmpretrain's (MoCo, DenseCL) are tied to
image-level crops without an exact pixel correspondence, so the pre-training
model and its small data preprocessor (:mod:`.two_view_preprocessor`) are
written here; the encoder, the EMA (mmengine's ExponentialMovingAverage) and
the training loop are reused.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel, ExponentialMovingAverage
from mmengine.structures import BaseDataElement
from mmseg.registry import MODELS

from ideal_mm.correspondence import dense_correspondence
from ideal_mm.errors import ConfigError
from ideal_mm.geometry import CellGeometry
from ideal_mm.models.segmentors.semi_base import check_ema_updated
from .embedding_geometry import CellGeometryCfg, resolve_cell_geometry


@MODELS.register_module()
class DenseContrastivePretrainer(BaseModel):
    """Query/key dense contrastive pre-training (IDEAL stage 1).

    Query branch: ``backbone`` E_Q + ``proj_head`` G_Q (trained). Key branch
    E_K + G_K:

    * ``key_branch='ema'``: a momentum copy of the query branch, kept by
      :class:`mmengine.model.ExponentialMovingAverage` and never given
      gradients; the same EMA mechanism as the semi-supervised teacher:
      ``MeanTeacherHook`` (in ``custom_hooks``) calls :meth:`update_teacher`
      after every optimizer step. mmengine's convention is ``averaged = (1 -
      m) * averaged + m * source``, so ``momentum`` here is ``1 - `` MoCo's
      momentum (MoCo's 0.99 is 0.01 here, 0.999 is 0.001). As in MoCo the
      key branch starts as a copy of the initialised query branch
      (:meth:`init_weights` makes that copy the first EMA step) and averages
      from the first optimizer step on. The query weights are identical on
      every rank after each step, so the copies stay equal under DDP
      without communication.
    * ``key_branch='shared'``: the key view goes through the query branch
      itself (gradients flow through both views).

    The query view is ``inputs[:, :C]`` and the key view ``inputs[:, C:]``
    (C = half the channels). The correspondence is computed from the affine
    matrices in the data samples at the query embedding grid
    (:func:`dense_correspondence`), placing embedding cell (i, j) at view
    pixel ``(offset + stride * i, offset + stride * j)`` as the backbone's
    architecture does (:mod:`ideal_mm.geometry`): 2x2 max pooling (UNet)
    centres a cell on the middle of the pixels it covers, stride-2
    convolutions (ResNet, MiT) on their centre tap, half a cell apart. The
    geometry, ``self.cell_geometry``, is fixed at build time (``cell_geometry``
    below) for the level the dense head's grid has: its finest ``in_index``
    level, the one :class:`DenseConvProjHead` resizes the others to. It is
    logged once.

    ``forward(mode='loss')`` returns ``{loss.loss_name: L}`` plus the
    detached terms ``dense_nce``, ``dense_pos``, ``dense_neg`` and
    ``dense_pairs`` for logging (and ``{global_loss.loss_name: ...}`` with a
    global head). ``mode='tensor'`` returns the query branch's embeddings of
    both views, (B, 2, D, h, w).

    Args:
        backbone: any mmseg backbone config (multi-level outputs).
        proj_head: dense projection head config (DenseConvProjHead).
        loss: dense loss config (DenseContrastiveLoss).
        key_branch: 'ema' (default) or 'shared'.
        momentum: mmengine EMA momentum m (default 0.01 = MoCo's 0.99).
        global_head: optional image-level head (GlobalProjHead); off by
            default.
        global_loss: its loss (default GlobalContrastiveLoss when
            ``global_head`` is set).
        data_preprocessor: default :class:`TwoViewDataPreprocessor`.
        cell_geometry: where the embedding cells sit in the view.
            ``'auto'`` (default, also None): the declared table
            (:func:`~ideal_mm.geometry.declared_cell_geometry`: UNetEncoder,
            mmseg ResNet and its subclasses ResNetV1c / ResNetV1d,
            MixVisionTransformer) for a backbone it knows, else the
            gradient-centroid probe (:func:`~ideal_mm.geometry.
            probe_cell_geometry`, a few seconds on CPU at build time);
            ``'table'`` or ``'probe'``: only that one; ``dict(stride=...,
            offset=...)`` (numbers or (y, x) pairs, view pixels): cell
            (i, j) of the embedding grid is centred at ``(offset + stride *
            i, offset + stride * j)``, e.g. ``dict(stride=8, offset=0)`` for
            a ResNet at output stride 8; ``'centre-aligned'``: the behaviour
            before the geometry was taken from the backbone (cells split the
            view equally, key points up to the view border are valid), kept
            to reproduce earlier runs; ``self.cell_geometry`` is None.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 backbone: dict,
                 proj_head: dict,
                 loss: dict = dict(type='DenseContrastiveLoss'),
                 key_branch: str = 'ema',
                 momentum: float = 0.01,
                 global_head: Optional[dict] = None,
                 global_loss: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 cell_geometry: CellGeometryCfg = 'auto',
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='TwoViewDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if key_branch not in ('ema', 'shared'):
            raise ConfigError(
                f"model.key_branch must be 'ema' or 'shared', got "
                f'{key_branch!r}')
        if key_branch == 'ema' and not 0.0 < momentum < 1.0:
            raise ConfigError(
                f'model.momentum must be in (0, 1) (mmengine convention: '
                f'1 - MoCo momentum, e.g. 0.01), got {momentum}')
        self.backbone = MODELS.build(backbone)
        self.proj_head = MODELS.build(proj_head)
        self.cell_geometry: Optional[CellGeometry] = \
            resolve_cell_geometry(self.backbone, self.proj_head, cell_geometry)
        self.loss_dense = MODELS.build(loss)
        self.global_head = None
        self.loss_global = None
        if global_head is not None:
            self.global_head = MODELS.build(global_head)
            self.loss_global = MODELS.build(
                global_loss or dict(type='GlobalContrastiveLoss'))
        self.key_branch_type = key_branch
        self.momentum = float(momentum)
        self.key_branch: Optional[ExponentialMovingAverage] = None
        self._init_ema_steps = 0  # EMA steps made by init_weights
        if key_branch == 'ema':
            self.key_branch = ExponentialMovingAverage(
                self._query_modules(), momentum=self.momentum)

    def _query_modules(self) -> nn.ModuleDict:
        """The query branch as one (unregistered) container."""
        modules = dict(backbone=self.backbone, proj_head=self.proj_head)
        if self.global_head is not None:
            modules['global_head'] = self.global_head
        return nn.ModuleDict(modules)

    @property
    def ema_teacher(self) -> Optional[ExponentialMovingAverage]:
        """The EMA key branch that ``MeanTeacherHook`` steps (None when
        ``key_branch='shared'``)."""
        return self.key_branch

    def init_weights(self) -> None:
        """Initialise, then copy the query branch into the key branch (the
        first EMA step, as MoCo starts its key encoder)."""
        super().init_weights()
        self.update_teacher()
        if self.key_branch is not None:
            self._init_ema_steps = int(self.key_branch.steps)

    @torch.no_grad()
    def update_teacher(self) -> None:
        """EMA step of the key branch towards the current query branch
        (called by ``MeanTeacherHook`` after every optimizer step)."""
        if self.key_branch is not None:
            self.key_branch.update_parameters(self._query_modules())

    @staticmethod
    def split_views(inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, 2*C, h, w) -> query (B, C, h, w), key (B, C, h, w)."""
        if inputs.dim() != 4 or inputs.shape[1] % 2:
            raise ValueError(f'inputs must be (B, 2*C, h, w) view pairs, got '
                             f'{tuple(inputs.shape)}')
        return inputs.chunk(2, dim=1)

    def _embed(
            self,
            x: torch.Tensor,
            use_key: bool = False
    ) -> Tuple[Sequence[torch.Tensor], torch.Tensor]:
        """Backbone features and dense embeddings of one view."""
        if use_key and self.key_branch is not None:
            module = self.key_branch.module
            feats = module['backbone'](x)
            return feats, module['proj_head'](feats)
        feats = self.backbone(x)
        return feats, self.proj_head(feats)

    def _global(self, feats: Sequence[torch.Tensor],
                use_key: bool) -> torch.Tensor:
        if use_key and self.key_branch is not None:
            return self.key_branch.module['global_head'](feats)
        return self.global_head(feats)

    def loss(
            self, inputs: torch.Tensor, data_samples: Sequence[BaseDataElement]
    ) -> Dict[str, torch.Tensor]:
        """Dense (and optional global) contrastive losses of a view batch."""
        x_q, x_k = self.split_views(inputs)
        if self.training:
            check_ema_updated(self.key_branch, self._init_ema_steps,
                              'DenseContrastivePretrainer (key branch)')
        feats_q, emb_q = self._embed(x_q)
        use_key = self.key_branch is not None
        if use_key:
            with torch.no_grad():
                feats_k, emb_k = self._embed(x_k, use_key=True)
        else:
            feats_k, emb_k = self._embed(x_k)
        affine_q = torch.stack([s.affine_q for s in data_samples])
        affine_k = torch.stack([s.affine_k for s in data_samples])
        src_shape = torch.stack([s.src_shape for s in data_samples])
        geometry = {} if self.cell_geometry is None else dict(
            stride=self.cell_geometry.stride,
            offset=self.cell_geometry.offset,
            key_grid_shape=emb_k.shape[-2:])
        corr, valid = dense_correspondence(
            affine_q.to(emb_q.device), affine_k.to(emb_q.device),
            src_shape.to(emb_q.device), x_q.shape[-2:], emb_q.shape[-2:],
            **geometry)
        parts = self.loss_dense(
            emb_q, emb_k, corr, valid, return_components=True)
        losses = {self.loss_dense.loss_name: parts['loss']}
        for key in ('nce', 'pos', 'neg'):
            losses[f'dense_{key}'] = parts[key].detach()
        losses['dense_pairs'] = parts['num_pairs'].to(emb_q.device)
        if self.global_head is not None:
            g_q = self._global(feats_q, use_key=False)
            if use_key:
                with torch.no_grad():
                    g_k = self._global(feats_k, use_key=True)
            else:
                g_k = self._global(feats_k, use_key=False)
            losses[self.loss_global.loss_name] = self.loss_global(g_q, g_k)
        return losses

    def forward(
            self,
            inputs: torch.Tensor,
            data_samples: Optional[Sequence[BaseDataElement]] = None,
            mode: str = 'tensor'
    ) -> Union[Dict[str, torch.Tensor], torch.Tensor]:
        """``mode='loss'``: the loss dict; ``'tensor'``: (B, 2, D, h, w)
        query-branch embeddings of both views."""
        if mode == 'loss':
            if data_samples is None:
                raise ValueError("mode='loss' needs the data samples with the "
                                 'views\' affine matrices')
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            views = self.split_views(inputs)
            return torch.stack([self._embed(v)[1] for v in views], dim=1)
        raise ValueError(
            f"DenseContrastivePretrainer supports mode='loss' and "
            f"mode='tensor' (embeddings), got mode={mode!r}; it makes no "
            f'predictions, so pre-training configs have no val/test loop')
