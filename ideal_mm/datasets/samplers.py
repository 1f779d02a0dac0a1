"""Fixed-ratio labelled/unlabelled batches for semi-supervised training.

mmdet's ``MultiSourceSampler`` does exactly this, but mmdet is not a
dependency of ideal_mm (it pins its own mmcv range and would pull in a
detection stack for ~80 lines); mmengine's samplers draw from one source
only. The logic below follows mmdet's: one independent, infinite, shuffled
index stream per source, each rank taking every ``world_size``-th element of
every stream, and batches filled source by source in a fixed order.
"""
from __future__ import annotations

import itertools
from typing import Iterator, List, Optional, Sequence, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmseg.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

from ..errors import ConfigError


@DATA_SAMPLERS.register_module()
class SemiSupMultiSourceSampler(Sampler):
    """Infinite sampler: every batch holds fixed counts from each source.

    Sources are either the members of a ``ConcatDataset`` (e.g.
    ``[labelled, unlabelled]``, each with its own pipeline, as in mmdet) or,
    for any other dataset, the two groups ``info[group_key]`` true / false
    (default ``'labelled'``: an ``ACDCDataset(subset='all')`` whose unlabelled
    entries carry no ``seg_map_path``, so one pipeline loads labels only for
    labelled slices; then changing ``label_budget`` is a one-key edit).
    Counts per batch follow mmdet:
    ``n_s = int(batch_size * r_s / sum(r))`` for s >= 1 and ``n_0`` the rest,
    so ``batch_size=24, source_ratio=[12, 12]`` (or ``[1, 1]``) gives 12
    labelled then 12 unlabelled indices per batch, always in source order.

    Source ``s`` draws from its own infinite stream: a fresh permutation of
    its indices each pass (``torch.randperm`` seeded with ``seed + s``), or
    ``0..n-1`` repeatedly without shuffling. Rank ``r`` of ``world_size``
    takes elements ``r, r + world_size, ...`` of each stream, so ranks see
    disjoint positions of the same stream (like mmdet's
    ``MultiSourceSampler``). The stream depends only on the seed, never on the
    epoch, so ``set_epoch`` has no effect and resuming by skipping ``k``
    batches lands exactly where training stopped. ``set_start_iter(k)``
    skips them without loading any data; ``SemiSupSamplerHook`` calls it on
    resume and also stores the seed in checkpoints, because mmengine builds
    the train dataloader (and so this sampler's seed) before it restores the
    checkpoint's seed.

    The DataLoader's ``batch_size`` must equal ``batch_size`` here
    (``SemiSupSamplerHook`` checks it before training).

    Args:
        dataset: an mmengine / torch ``ConcatDataset`` of the sources, or a
            dataset with ``get_data_info`` grouped by ``group_key``.
        batch_size: samples per batch on one rank.
        source_ratio: relative share of each source in a batch.
        shuffle: shuffle each pass of each source. Defaults to True.
        seed: base seed, shared by all ranks; None draws one and
            synchronises it across ranks (``sync_random_seed``).
        rank, world_size: default to the distributed environment; pass them
            to simulate ranks.
        group_key: data-info key that splits a non-concatenated dataset into
            sources ``[true, false]``. Defaults to ``'labelled'``.
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 source_ratio: Sequence[float] = (1, 1),
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None,
                 group_key: str = 'labelled') -> None:
        self.source_indices = self._sources(dataset, group_key)
        ratio = [float(r) for r in source_ratio]
        sizes = [len(idx) for idx in self.source_indices]
        if len(ratio) != len(sizes):
            raise ConfigError(
                f'sampler.source_ratio has {len(ratio)} entries but the '
                f'ConcatDataset has {len(sizes)} sources')
        if batch_size < len(ratio) or any(r <= 0 for r in ratio):
            raise ConfigError(
                f'sampler.batch_size={batch_size} and source_ratio={ratio} '
                'must give every source at least one sample per batch')
        counts = [int(batch_size * r / sum(ratio)) for r in ratio]
        counts[0] = batch_size - sum(counts[1:])
        if min(counts) < 1:
            raise ConfigError(
                f'sampler.source_ratio={ratio} with batch_size={batch_size} '
                f'leaves a source without samples (counts {counts})')
        empty = [i for i, n in enumerate(sizes) if n == 0]
        if empty:
            raise ConfigError(
                f'source(s) {empty} of the semi-supervised ConcatDataset are '
                'empty (e.g. label_budget=1.0 leaves no unlabelled slices); '
                'use a single-source InfiniteSampler then')
        dist_rank, dist_world = get_dist_info()
        self.rank = dist_rank if rank is None else int(rank)
        self.world_size = dist_world if world_size is None else int(world_size)
        if not 0 <= self.rank < self.world_size:
            raise ConfigError(
                f'rank {self.rank} not in [0, {self.world_size})')
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.source_ratio = ratio
        self.num_per_source = counts
        self.source_sizes = sizes
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0
        self.start_iter = 0

    @staticmethod
    def _sources(dataset: Sized, group_key: str) -> List[List[int]]:
        """Global indices of each source."""
        if hasattr(dataset, 'cumulative_sizes'):
            bounds = [0] + list(dataset.cumulative_sizes)
            return [list(range(a, b)) for a, b in zip(bounds[:-1], bounds[1:])]
        if not hasattr(dataset, 'get_data_info'):
            raise ConfigError(
                'SemiSupMultiSourceSampler needs train_dataloader.dataset to '
                "be a ConcatDataset of the sources or a dataset whose data "
                f"infos have a {group_key!r} key, got {type(dataset).__name__}"
            )
        groups: List[List[int]] = [[], []]
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            if group_key not in info:
                raise ConfigError(
                    f'sample {i} of {type(dataset).__name__} has no '
                    f'{group_key!r} key to group sources by '
                    '(sampler.group_key)')
            groups[0 if info[group_key] else 1].append(i)
        return groups

    def _infinite_indices(self, size: int, seed: int) -> Iterator[int]:
        """Endless local indices of one source (all ranks identical)."""
        generator = torch.Generator()
        generator.manual_seed(seed)
        while True:
            if self.shuffle:
                yield from torch.randperm(size, generator=generator).tolist()
            else:
                yield from range(size)

    def source_stream(self, source: int) -> Iterator[int]:
        """This rank's share of source ``source``'s stream (local indices)."""
        stream = self._infinite_indices(self.source_sizes[source],
                                        self.seed + source)
        return itertools.islice(stream, self.rank, None, self.world_size)

    def __iter__(self) -> Iterator[int]:
        """Global indices, batch after batch, from ``start_iter`` on."""
        streams = []
        for s, count in enumerate(self.num_per_source):
            stream = self.source_stream(s)
            skip = self.start_iter * count
            if skip:
                stream = itertools.islice(stream, skip, None)
            streams.append(stream)
        while True:
            for s, count in enumerate(self.num_per_source):
                indices = self.source_indices[s]
                for _ in range(count):
                    yield indices[next(streams[s])]

    def __len__(self) -> int:
        """Size of the concatenated dataset (the sampler itself is
        infinite)."""
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Recorded only: the streams do not depend on the epoch."""
        self.epoch = epoch

    def set_start_iter(self, start_iter: int) -> None:
        """Start the next ``__iter__`` after ``start_iter`` batches."""
        if start_iter < 0:
            raise ValueError(f'start_iter must be >= 0, got {start_iter}')
        self.start_iter = int(start_iter)
