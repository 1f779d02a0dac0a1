"""SemiSupMultiSourceSampler: batch composition, rank sharding, resume."""
import itertools

import ideal_mm  # noqa: F401  # isort: skip  (compat before mmseg)
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.data import ConcatDataset, Dataset

from ideal_mm.datasets.samplers import SemiSupMultiSourceSampler
from ideal_mm.errors import ConfigError

init_default_scope('mmseg')


def concat(*sizes):
    return ConcatDataset([list(range(n)) for n in sizes])


def take(sampler, n):
    return list(itertools.islice(iter(sampler), n))


def test_every_batch_has_the_ratio_in_order():
    data = concat(10, 37)  # labelled 0..9, unlabelled 10..46
    sampler = SemiSupMultiSourceSampler(
        data, batch_size=8, source_ratio=[3, 5], seed=1, rank=0, world_size=1)
    assert sampler.num_per_source == [3, 5]
    flat = take(sampler, 8 * 40)
    for b in range(40):
        batch = flat[8 * b:8 * (b + 1)]
        assert all(i < 10 for i in batch[:3]), batch
        assert all(10 <= i < 47 for i in batch[3:]), batch
    labelled = [i for i in flat if i < 10]
    # each pass over a source is a permutation of it
    for p in range(len(labelled) // 10):
        assert sorted(labelled[10 * p:10 * (p + 1)]) == list(range(10))
    assert labelled[:10] != list(range(10))  # shuffled


def test_default_ssl4mis_split_and_rounding():
    data = concat(30, 300)
    assert SemiSupMultiSourceSampler(
        data, 24, [12, 12], seed=0, rank=0,
        world_size=1).num_per_source == [12, 12]
    # mmdet's rounding: later sources get int(), the first the rest
    assert SemiSupMultiSourceSampler(
        data, 10, [1, 2], seed=0, rank=0,
        world_size=1).num_per_source == [4, 6]


def test_two_ranks_see_disjoint_streams():
    data = concat(12, 40)
    samplers = [
        SemiSupMultiSourceSampler(
            data, 4, [1, 1], seed=3, rank=r, world_size=2) for r in range(2)
    ]
    # one pass over the labelled source: 12 samples = 3 batches x 2 x 2 ranks
    streams = [take(s, 4 * 3) for s in samplers]
    lab = [[i for i in st if i < 12] for st in streams]
    assert set(lab[0]).isdisjoint(lab[1])
    assert sorted(lab[0] + lab[1]) == list(range(12))
    # per-position: the ranks interleave one shared permutation
    full = list(itertools.islice(samplers[0]._infinite_indices(12, 3), 12))
    assert lab[0] == full[0::2] and lab[1] == full[1::2]
    unl = [[i for i in st if i >= 12] for st in streams]
    assert set(unl[0]).isdisjoint(unl[1])


def test_deterministic_resume_and_seed():
    data = concat(7, 11)
    a = SemiSupMultiSourceSampler(
        data, 6, [1, 2], seed=5, rank=0, world_size=1)
    b = SemiSupMultiSourceSampler(
        data, 6, [1, 2], seed=5, rank=0, world_size=1)
    c = SemiSupMultiSourceSampler(
        data, 6, [1, 2], seed=6, rank=0, world_size=1)
    full = take(a, 6 * 20)
    assert full == take(b, 6 * 20)
    assert full != take(c, 6 * 20)
    b.set_epoch(3)  # streams do not depend on the epoch
    b.set_start_iter(13)
    assert take(b, 6 * 7) == full[6 * 13:]


def test_bad_configs():
    with pytest.raises(ConfigError, match='ConcatDataset'):
        SemiSupMultiSourceSampler(list(range(5)), 4, seed=0)
    with pytest.raises(ConfigError, match='empty'):
        SemiSupMultiSourceSampler(concat(5, 0), 4, seed=0)
    with pytest.raises(ConfigError, match='source_ratio'):
        SemiSupMultiSourceSampler(concat(5, 5), 4, [1, 1, 1], seed=0)
    with pytest.raises(ConfigError, match='at least one'):
        SemiSupMultiSourceSampler(concat(5, 5), 4, [1, 0], seed=0)


class _Indexed(Dataset):
    """Items are their own index; records loads in a class-level list
    (the runner deep-copies its dataloader config)."""

    loads = []

    def __init__(self, n, offset):
        self.n, self.offset = n, offset

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        _Indexed.loads.append(self.offset + i)
        return dict(inputs=torch.zeros(1), data_samples=self.offset + i)


class _Recorder(BaseModel):
    seen = []

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        _Recorder.seen.append(list(data_samples))
        return dict(loss=(self.w * 0).sum() + self.w.sum()**2)


def _runner(tmp_path, resume):
    data = ConcatDataset([_Indexed(9, 0), _Indexed(13, 9)])
    return Runner(
        model=_Recorder(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=data,
            batch_size=5,
            num_workers=0,
            sampler=dict(
                type='SemiSupMultiSourceSampler',
                batch_size=5,
                source_ratio=[2, 3])),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=6),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False),
            logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=[dict(type='SemiSupSamplerHook')],
        randomness=dict(seed=None),  # a new seed per run
        resume=resume,
        default_scope='mmseg',
        log_level='WARNING')


def test_runner_resume_continues_the_same_stream(tmp_path):
    loads = _Indexed.loads
    loads.clear()
    _Recorder.seen = []
    _runner(tmp_path, resume=False).train()
    first = list(_Recorder.seen)
    assert len(first) == 6 and len(loads) == 30
    for batch in first:
        assert all(i < 9 for i in batch[:2]) and all(i >= 9 for i in batch[2:])
    (tmp_path / 'iter_6.pth').unlink()  # resume from iteration 3
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_3.pth'))
    loads.clear()
    _Recorder.seen = []
    _runner(tmp_path, resume=True).train()
    assert _Recorder.seen == first[3:]
    assert len(loads) == 15  # the 3 skipped batches were not loaded


class _Flagged:
    """A dataset whose data infos carry a 'labelled' flag (ACDC subset=all)."""

    def __init__(self, flags):
        self.flags = flags

    def __len__(self):
        return len(self.flags)

    def get_data_info(self, i):
        return dict(labelled=self.flags[i])


def test_group_by_labelled_flag():
    flags = [i % 5 == 0 for i in range(40)]  # 8 labelled, 32 unlabelled
    sampler = SemiSupMultiSourceSampler(
        _Flagged(flags), 6, [2, 4], seed=0, rank=0, world_size=1)
    assert sampler.source_indices[0] == list(range(0, 40, 5))
    flat = take(sampler, 6 * 30)
    for b in range(30):
        batch = flat[6 * b:6 * (b + 1)]
        assert all(flags[i] for i in batch[:2])
        assert not any(flags[i] for i in batch[2:])
    assert sorted(i for i in flat[:6 * 4] if flags[i]) == list(range(0, 40, 5))
    with pytest.raises(ConfigError, match='empty'):
        SemiSupMultiSourceSampler(_Flagged([True] * 4), 2, seed=0)
