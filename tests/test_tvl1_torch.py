"""The torch TV-L1 against OpenCV's DualTVL1 on real frame pairs; the stream: batch independence, refill,
host syncs, out-of-memory and other errors; the shipped pairs."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.profiler import ProfilerActivity, profile, schedule

from src.data.media import iter_video_frames, read_gif_frames
from src.prep.flow_pairs import load_pairs, pack_int16, unpack_int16, upscale_linear
from tests.fixtures.media import texture, write_video
from src.prep.tvl1_stream import TVL1Error, TVL1Stream, tvl1_flow
from src.prep.tvl1_torch import Kernels, TVL1Params, agreement

REPO = Path(__file__).parents[1]
REFERENCE = REPO / "tests" / "data" / "tvl1_pairs_320x240.npz"
LIMITS = {"mean_epe": 0.02, "p99_epe": 0.15}
MIN_WITHIN = 0.997


@pytest.fixture(autouse=True)
def one_thread():
    """The torch TV-L1 runs many small ops: one thread is fastest where other work shares the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small_pairs():
    """8 real pairs at 64x48 (4 shipped pairs, both ways): fast, and they converge at different times."""
    first, second, _ = load_pairs(REFERENCE)
    small = [cv2.resize(f, (64, 48), interpolation=cv2.INTER_AREA) for f in (*first[:40:10], *second[:40:10])]
    return np.stack(small[:4] + small[4:]), np.stack(small[4:] + small[:4])


def opencv_flow(first, second):
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    return np.stack([tvl1.calc(a, b, None) for a, b in zip(first, second)])


def assert_agrees(reference, flow):
    """End-point error and stored-level agreement computed here, not by the product's agreement()."""
    reference, flow = np.asarray(reference, np.float64), np.asarray(flow, np.float64)
    assert flow.shape == reference.shape, (flow.shape, reference.shape)
    epe = np.hypot(*(reference - flow).transpose(-1, *range(reference.ndim - 1)))
    levels = [np.round((np.clip(f, -20, 20) + 20) * 255 / 40) for f in (reference, flow)]
    stats = {"mean_epe": epe.mean(), "p99_epe": np.percentile(epe, 99),
             "within_one_level": (np.abs(levels[0] - levels[1]) <= 1).mean()}
    assert stats["mean_epe"] <= LIMITS["mean_epe"] and stats["p99_epe"] <= LIMITS["p99_epe"], stats
    assert stats["within_one_level"] >= MIN_WITHIN, stats
    product = agreement(reference, flow)  # what the check script prints agrees with this
    assert all(abs(product[k] - stats[k]) < 1e-9 for k in stats), (product, stats)


def grey_pairs(frames, starts, size):
    grey = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA) for f in frames]
    return np.stack([grey[k] for k in starts]), np.stack([grey[k + 1] for k in starts])


def test_agrees_with_opencv_on_the_sample_video(shared):
    frames = read_gif_frames(shared("data", "samples", "v_CricketShot_g04_c01_rgb.gif"))
    first, second = grey_pairs(frames, [20, 50], (112, 112))
    assert_agrees(opencv_flow(first, second), tvl1_flow(first, second))


def test_agrees_with_the_shipped_320x240_reference():
    """Two real pairs at the UCF101/HMDB51 frame size, streamed through one row, against OpenCV's flow
    stored with them (1/128 px steps)."""
    first, second, reference = load_pairs(REFERENCE)
    assert first.shape == (64, 240, 320) and reference.shape == (64, 240, 320, 2)
    pick = [5, 40]
    assert_agrees(reference[pick], tvl1_flow(first[pick], second[pick], batch=1))


def test_agrees_with_opencv_on_an_encoded_video(tmp_path):
    """Frames that went through a real codec (MJPG via cv2.VideoWriter): a texture panning and zooming."""
    base = texture(160, 200, seed=3, blur=1.5)
    frames = []
    for k in range(4):
        m = cv2.getRotationMatrix2D((100, 80), 2.0 * k, 1.0 + 0.03 * k)
        m[:, 2] += (3 * k, -2 * k)
        grey = cv2.warpAffine(base, m, (200, 160), borderMode=cv2.BORDER_REFLECT)
        frames.append(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB))
    write_video(tmp_path / "pan.avi", frames)
    decoded = list(iter_video_frames(tmp_path / "pan.avi"))
    first, second = grey_pairs(decoded, [0, 2], (100, 80))
    assert_agrees(opencv_flow(first, second), tvl1_flow(first, second))


@pytest.mark.parametrize("batch, block, compact", [(3, 10, 0.0), (2, 15, 0.25), (8, 5, 0.0)])
def test_a_pair_does_not_depend_on_its_batch(small_pairs, batch, block, compact):
    """Whatever the batch, the block between checks, the compaction and the refill order: each pair's flow
    is the one it gets alone (bit for bit)."""
    first, second = small_pairs
    together = tvl1_flow(first, second, batch=batch, block=block, compact=compact)
    for k in (0, 5):
        assert np.array_equal(tvl1_flow(first[k], second[k]), together[k])


@pytest.mark.filterwarnings("ignore:Profiler won't be using warmup", "ignore:Warning. Profiler clears events")
def test_the_stream_refills_and_needs_no_sync_per_iteration(small_pairs):
    """4 distinct pairs through 2 rows per pool: every pair comes out once; the profiler (counting in
    windows of 10 blocks) sees one nonzero per block of 10 iterations and no item(); the rows launched
    stay close to what the pairs need."""
    first, second = small_pairs
    stream = TVL1Stream("cpu", batch=2, params=TVL1Params(nscales=2))
    for k in range(4):
        stream.add(k, first[k], second[k])
    counts, got = {}, {}

    def count(prof):
        for event in prof.key_averages():
            counts[event.key] = counts.get(event.key, 0) + event.count

    with profile(activities=[ProfilerActivity.CPU], schedule=schedule(wait=0, warmup=0, active=10),
                 on_trace_ready=count) as prof:
        while stream.busy():
            got.update(stream.step())
            prof.step()
    stats = stream.finish_stats()
    assert sorted(got) == list(range(4)) and stats.pairs == 4
    assert counts.get("aten::_local_scalar_dense", 0) == 0 and counts.get("aten::item", 0) == 0
    assert counts["aten::nonzero"] == stats.checks == stats.blocks
    assert counts["aten::hypot"] == 2 * stats.loop_iterations  # two per inner iteration
    assert stats.syncs_per_iteration <= 0.1
    assert stats.per_pair <= stats.per_batch <= 1.5 * stats.per_pair, stats
    assert np.array_equal(got[3], tvl1_flow(first[3], second[3], params=TVL1Params(nscales=2)))


class Failing(Kernels):
    """Real kernels that raise `error` at the n-th inner step (once): a device failing mid-stream."""

    def __init__(self, error, n):
        super().__init__(fused=False)
        self.error, self.n = error, n

    def __call__(self, name, *args):
        if name == "step":
            self.n -= 1
            if self.n == 0:
                raise self.error
        return super().__call__(name, *args)


def test_out_of_memory_halves_the_batch_and_keeps_the_flow(small_pairs):
    first, second = small_pairs
    expected = tvl1_flow(first, second, batch=4)
    stream = TVL1Stream("cpu", batch=4)
    stream.kernels = Failing(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), 200)
    for k in range(len(first)):
        stream.add(k, first[k], second[k])
    with pytest.warns(UserWarning, match="out of memory at batch 4; going on at batch 2"):
        got = dict(stream.run())
    assert stream.stats.halved == [2] and stream.batch == 2
    assert np.array_equal(np.stack([got[k] for k in range(8)]), expected)


def test_another_error_names_the_pairs_and_stops(small_pairs):
    first, second = small_pairs
    stream = TVL1Stream("cpu", batch=2)
    stream.kernels = Failing(RuntimeError("an illegal memory access was encountered"), 50)
    for k in range(len(first)):
        stream.add(f"video_{k}", first[k], second[k])
    with pytest.raises(TVL1Error, match=r"TV-L1 on cpu failed on pairs 'video_\d', 'video_\d': RuntimeError: an illegal") as err:
        list(stream.run())
    assert len(err.value.tags) == 2


def test_a_device_error_in_convert_rgb_to_flow_names_the_pair_and_stops(tmp_path, monkeypatch, capsys):
    """The torch backend's pipeline: the videos in flight fail with the pair named, the run stops without
    hanging, no temp folder is left."""
    from src.prep import flow_torch
    from src.prep.flow import flow_tasks
    from tests.fixtures.media import shifted_sequence

    for name in ("a", "b"):
        folder = tmp_path / "rgb" / "cls" / name
        folder.mkdir(parents=True)
        for k, grey in enumerate(shifted_sequence(32, 40, dx=1, dy=0, n=4), 1):
            cv2.imwrite(str(folder / f"image_{k:05d}.jpg"), cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))

    class Broken(TVL1Stream):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.kernels = Failing(RuntimeError("device lost"), 3)

    monkeypatch.setattr(flow_torch, "TVL1Stream", Broken)
    tasks = flow_tasks(tmp_path / "rgb", tmp_path / "flow")
    summary = flow_torch.run_torch_flow(tasks, 20.0, ("cpu",), 8, 1)
    assert summary.failures and summary.done == 0
    assert all("failed on pairs" in reason and "frames 1-2" in reason and "device lost" in reason
               for _, reason in summary.failures), summary.failures
    assert "stopped: TV-L1 on cpu failed on pairs" in capsys.readouterr().err
    assert not [p for p in (tmp_path / "flow").rglob("*") if p.name.startswith(".")]


def test_the_path_says_what_runs_and_why():
    kind, why = TVL1Stream("cpu").path
    assert kind == "eager" and "CUDA only" in why and "no CUDA graph: not a CUDA device" in why
    assert TVL1Stream("cpu", graphs=True).graphs is False  # graphs are used on CUDA only
    with pytest.raises(ValueError, match="block must divide the 30 inner iterations"):
        TVL1Stream("cpu", block=7)


def test_the_shipped_pairs_round_trip_and_are_distinct():
    rng = np.random.default_rng(0)
    data = rng.integers(-3000, 3000, size=(2, 3, 17), dtype=np.int16)
    assert np.array_equal(unpack_int16(pack_int16(data), data.shape), data)
    grey = rng.integers(0, 256, size=(2, 7, 9), dtype=np.uint8)
    big = upscale_linear(grey, 15, 20)
    assert big.shape == (2, 15, 20) and big.dtype == np.uint8
    first, second, _ = load_pairs(REFERENCE)
    assert len({f.tobytes() for f in first}) == 64  # 64 distinct pairs, not tiles of a few
    assert REFERENCE.stat().st_size < 6e6


def test_the_gpu_check_needs_neither_mindspore_nor_opencv():
    """scripts/check_flow_gpu.sh runs where only torch and numpy are installed."""
    code = ("import sys, runpy; sys.argv = ['x', '--help']\n"
            "try:\n    runpy.run_path('bench/check_flow_gpu.py', run_name='__main__')\n"
            "except SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
            "bad = sorted(m for m in ('mindspore', 'cv2') if m in sys.modules)\nassert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
