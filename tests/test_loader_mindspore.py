"""The MindSpore pipeline: seeded and worker-independent, sharded, eval order and partial batch."""
import numpy as np
import pytest

from tests.fixtures.frame_tree import frame_levels, make_tree, numbered_frames, write_annotation, write_rgb_video
from src.data.loader.clip_dataset import ClipDataset
from src.data.loader.mindspore_dataset import EpochSampler, create_dataset, eval_video_ids

pytest.importorskip("mindspore")


def collect(dataset, epochs):
    """[(clips, targets)] batches of `epochs` passes over a dataset."""
    it = dataset.create_tuple_iterator(num_epochs=epochs, output_numpy=True)
    return [[(c, t) for c, t in it] for _ in range(epochs)]


def expected_batches(source, sampler_args, epochs, batch_size):
    """What the pipeline must produce, computed directly (no MindSpore, no workers)."""
    sampler = EpochSampler(len(source), **sampler_args)
    out = []
    for epoch in range(epochs):
        items = [source.clip(i, epoch) for i in sampler.indices(epoch)]
        stop = len(items) - len(items) % batch_size if source.train else len(items)
        out.append([(np.stack([c for c, _ in items[b:b + batch_size]]),
                     np.stack([t for _, t in items[b:b + batch_size]])) for b in range(0, stop, batch_size)])
    return out


def assert_same(got, want):
    assert len(got) == len(want)
    for g_epoch, w_epoch in zip(got, want):
        assert len(g_epoch) == len(w_epoch)
        for (gc, gt), (wc, wt) in zip(g_epoch, w_epoch):
            assert gc.dtype == np.uint8 and gt.dtype == np.int32
            np.testing.assert_array_equal(gc, wc)
            np.testing.assert_array_equal(gt, wt)


def test_train_two_workers_reproducible_and_worker_independent(tmp_path):
    ann = make_tree(tmp_path, n_videos=5, n_frames=10)
    kwargs = dict(mode="rgb", train=True, batch_size=2, sample_duration=4, spatial_size=24, seed=7)
    runs = []
    for _ in range(2):
        dataset, source = create_dataset(tmp_path / "jpg", ann, num_workers=2, **kwargs)
        assert dataset.get_dataset_size() == 2  # 5 videos, batch 2, remainder dropped
        runs.append(collect(dataset, 2))
    want = expected_batches(source, dict(shuffle=True, seed=7), 2, 2)
    assert_same(runs[0], want)
    assert_same(runs[1], want)
    assert not np.array_equal(runs[0][0][0][0], runs[0][1][0][0])  # a new epoch draws new clips
    # A resumed run continues the random streams of its epoch.
    resumed, _ = create_dataset(tmp_path / "jpg", ann, num_workers=1, start_epoch=1, **kwargs)
    assert_same(collect(resumed, 1), want[1:])


def test_sharding_splits_into_disjoint_equal_parts(tmp_path):
    ann = make_tree(tmp_path, n_videos=6, n_frames=6)
    shards = [EpochSampler(6, shuffle=True, seed=3, num_shards=2, shard_id=k).indices(0) for k in (0, 1)]
    assert sorted(np.concatenate(shards).tolist()) == list(range(6))
    odd = [EpochSampler(5, shuffle=True, seed=3, num_shards=2, shard_id=k).indices(0) for k in (0, 1)]
    assert len(odd[0]) == len(odd[1]) == 3 and set(odd[0]) | set(odd[1]) == set(range(5))
    kwargs = dict(mode="rgb", train=True, batch_size=1, sample_duration=3, spatial_size=24, seed=3, num_workers=2)
    got = []
    for k in (0, 1):
        dataset, source = create_dataset(tmp_path / "jpg", ann, num_shards=2, shard_id=k, **kwargs)
        batches = collect(dataset, 1)
        assert_same(batches, expected_batches(source, dict(shuffle=True, seed=3, num_shards=2, shard_id=k), 1, 1))
        got.append([frame_levels(clip[0])[0] % 10 for clip, _ in batches[0]])
    assert sorted(got[0] + got[1]) == list(range(6))  # the videos, each in exactly one shard


def test_eval_keeps_order_and_partial_batch(tmp_path):
    ann = make_tree(tmp_path, n_videos=5, n_frames=6, subset="validation")
    dataset, source = create_dataset(tmp_path / "jpg", ann, "rgb", train=False, batch_size=2,
                                     sample_duration=4, spatial_size=24, num_workers=2)
    assert eval_video_ids(source) == source.video_ids == [f"vid{i:02d}" for i in range(5)]
    batches = collect(dataset, 1)
    assert [len(t) for _, t in batches[0]] == [2, 2, 1]
    assert np.concatenate([t for _, t in batches[0]]).tolist() == [0, 1, 0, 1, 0]
    assert_same(batches, expected_batches(source, dict(shuffle=False), 1, 2))
    clips = np.concatenate([c for c, _ in batches[0]])
    assert [frame_levels(c).tolist() for c in clips] == [[20 + v, 30 + v, 40 + v, 50 + v] for v in range(5)]
    assert eval_video_ids(source, 2, 0) + eval_video_ids(source, 2, 1) == ["vid00", "vid02", "vid04", "vid01", "vid03"]


def test_whole_video_eval_as_plain_iterable(tmp_path):
    root = tmp_path / "jpg"
    for key, n in (("short", 3), ("long", 7)):
        write_rgb_video(root, "a", key, numbered_frames(n))
    ann = write_annotation(tmp_path / "ann.json", ["a"], [("short", "a", "validation"), ("long", "a", "validation")])
    source = ClipDataset(root, ann, "rgb", "validation", train=False, sample_duration=0, spatial_size=24)
    clips = list(source)
    assert [c.shape for c, _ in clips] == [(3, 3, 24, 24), (3, 7, 24, 24)]
    assert frame_levels(clips[1][0]).tolist() == [10, 20, 30, 40, 50, 60, 70]
    assert source.video_ids == ["short", "long"]
    with pytest.raises(ValueError, match="sample_duration"):
        ClipDataset(root, ann, "rgb", "validation", train=True, sample_duration=0)


def test_more_workers_than_cpus_is_capped(tmp_path):
    """The original's default of 16 workers on a small machine: capped to the CPU count, not an error."""
    ann = make_tree(tmp_path, n_videos=3, n_frames=4)
    dataset, source = create_dataset(tmp_path / "jpg", ann, "rgb", train=False, batch_size=2, sample_duration=4,
                                     spatial_size=32, subset="training", num_workers=64)
    assert sum(len(t) for _, t in dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)) == 3
