"""Wrap a ClipDataset in mindspore.dataset.GeneratorDataset for train.py / eval.py.

Ordering and sharding are done by our own sampler rather than GeneratorDataset's shuffle and
num_shards: it knows the epoch (needed to seed each clip, see clip_dataset.py), and it draws the
order from the same seed, so a run does not depend on MindSpore's global dataset seed.
Train: shuffled each epoch, equal-sized shards (wrap-around padding), last partial batch dropped.
Eval: index order, each video exactly once over all shards, partial last batch kept.
"""
import os
from dataclasses import dataclass

import numpy as np

from src.data.loader.clip_dataset import ClipDataset

COLUMNS = ["clip", "target"]


@dataclass
class EpochSampler:
    """Yields keys epoch * N + i for this shard's samples; each pass over it is the next epoch.

    start_epoch: the first pass's epoch (a resumed run continues the streams); record: optional
    callable(epoch, indices), called as each pass starts (what the pipeline is fed)."""

    num_samples: int
    shuffle: bool
    seed: int = 0
    start_epoch: int = 0
    num_shards: int = 1
    shard_id: int = 0
    record: object = None

    def __post_init__(self):
        if not 0 <= self.shard_id < self.num_shards:
            raise ValueError(f"shard_id {self.shard_id} out of range for num_shards {self.num_shards}")
        self.epoch = self.start_epoch

    def indices(self, epoch):
        """Sample indices of this shard in `epoch` (without the epoch offset)."""
        order = np.arange(self.num_samples)
        if self.shuffle:
            # Key 1 keeps the order stream apart from the per-clip streams (seed, epoch, index).
            order = np.random.default_rng(np.random.SeedSequence([self.seed, epoch, 1, 1])).permutation(order)
            per_shard = -(-self.num_samples // self.num_shards)
            order = np.resize(order, per_shard * self.num_shards)  # every shard gets the same count
        return order[self.shard_id::self.num_shards]

    def __len__(self):
        return len(self.indices(self.epoch))

    def __iter__(self):
        # A generator, so the epoch advances only when a pass really starts: MindSpore also calls
        # iter() on the sampler just to check that it is iterable.
        epoch, self.epoch = self.epoch, self.epoch + 1
        indices = self.indices(epoch)
        if self.record is not None:
            self.record(epoch, indices)
        yield from (epoch * self.num_samples + indices).tolist()


def to_mindspore(source, batch_size, num_workers=1, python_multiprocessing=True, num_shards=None,
                 shard_id=None, start_epoch=0, max_rowsize=None, record=None):
    """A batched GeneratorDataset over `source` (train or eval behaviour follows `source.train`).

    start_epoch: the first epoch's number, so that a resumed run continues the random streams.
    record: passed to EpochSampler (e.g. train.py's per-epoch shard list in distributed runs).
    """
    import mindspore.dataset as ds

    # MindSpore refuses more workers than CPUs (the original's default was 16): use what the machine has
    num_workers = max(1, min(int(num_workers), os.cpu_count() or 1))
    sampler = EpochSampler(len(source), shuffle=source.train, seed=source.seed, start_epoch=start_epoch,
                           num_shards=num_shards or 1, shard_id=shard_id or 0, record=record)
    dataset = ds.GeneratorDataset(source, column_names=COLUMNS, sampler=sampler,
                                  num_parallel_workers=num_workers,
                                  python_multiprocessing=python_multiprocessing and num_workers > 1,
                                  max_rowsize=max_rowsize)
    return dataset.batch(batch_size, drop_remainder=source.train)


def create_dataset(video_path, annotation_path, mode, train, batch_size=8, sample_duration=64,
                   spatial_size=224, seed=0, num_workers=1, python_multiprocessing=True,
                   num_shards=None, shard_id=None, start_epoch=0, subset=None):
    """Build (batched MindSpore dataset, ClipDataset); subset defaults to training/validation by `train`.

    The ClipDataset gives `labels` (class names), `video_ids` (eval batch order) and len().
    """
    subset = subset or ("training" if train else "validation")
    source = ClipDataset(video_path, annotation_path, mode, subset, train, sample_duration,
                         spatial_size, seed)
    dataset = to_mindspore(source, batch_size, num_workers, python_multiprocessing, num_shards,
                           shard_id, start_epoch)
    return dataset, source


def eval_video_ids(source, num_shards=None, shard_id=None):
    """Video ids in the order an eval dataset from `to_mindspore` yields them (for this shard)."""
    sampler = EpochSampler(len(source), shuffle=False, num_shards=num_shards or 1, shard_id=shard_id or 0)
    return [source.samples[i].video_id for i in sampler.indices(0)]
