"""convert_rgb_to_flow with real TV-L1 on JPEG frames: known shift, quantisation, frame count, bad folders."""
import cv2
import numpy as np
import pytest

from tests.fixtures.frame_tree import write_rgb_video
from tests.fixtures.tools import finished_folders, hidden_entries, run_tool
from src.data.layout import dequantise_flow as dequantise, quantise_flow as quantise
from src.prep.flow import flow_tasks, parse_shard, select_shard
from tests.fixtures.media import shifted_sequence
from src.prep.demo_data import render_video

BOUND = 20.0
STEP = 2 * BOUND / 255


def test_quantisation_round_trips_within_one_step():
    flow = np.linspace(-BOUND, BOUND, 2001, dtype=np.float32)
    stored = quantise(flow, BOUND)
    assert stored.dtype == np.uint8
    assert np.abs(dequantise(stored, BOUND) - flow).max() <= STEP / 2 + 1e-5
    assert quantise(np.array([-BOUND, 0.0, BOUND, -35.0, 35.0]), BOUND).tolist() == [0, 128, 255, 0, 255]


def write_frames(folder, grey_frames):
    folder.mkdir(parents=True)
    for k, grey in enumerate(grey_frames, 1):
        assert cv2.imwrite(str(folder / f"image_{k:05d}.jpg"), cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 95])


def read_flow(folder, k):
    """(x, y) flow in pixels decoded from the stored JPEGs of flow frame k."""
    return [dequantise(cv2.imread(str(folder / f"image_{k:05d}{c}.jpg"), cv2.IMREAD_GRAYSCALE), BOUND) for c in "xy"]


def test_flow_tool_on_real_frames(tmp_path):
    rgb, flow = tmp_path / "rgb", tmp_path / "flow"
    write_frames(rgb / "move" / "shift", shifted_sequence(60, 72, dx=3, dy=-2, n=3))
    write_frames(rgb / "move" / "still", shifted_sequence(40, 48, dx=0, dy=0, n=1))
    write_frames(rgb / "move" / "broken", shifted_sequence(40, 48, dx=1, dy=0, n=2))
    (rgb / "move" / "broken" / "image_00002.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (rgb / "move" / "empty").mkdir()

    estimate = run_tool("convert_rgb_to_flow.py", f"--rgb_path={rgb}", f"--flow_path={flow}", "--estimate")
    assert estimate.returncode == 0, estimate.stderr
    assert "4 videos to do (0 already done), 3 frame pairs" in estimate.stdout  # broken 1 + shift 2 + still 0
    assert "pairs/s on one core" in estimate.stdout and "projected with" in estimate.stdout
    assert not flow.exists()  # an estimate writes nothing

    result = run_tool("convert_rgb_to_flow.py", f"--rgb_path={rgb}", f"--flow_path={flow}", "--n_jobs", 2)
    assert result.returncode == 1
    assert "done 2, skipped 0 (already done), failed 2" in result.stdout
    assert f"FAILED {rgb / 'move' / 'broken'}: {rgb / 'move' / 'broken' / 'image_00002.jpg'}: truncated JPEG (no end marker)" in result.stdout
    assert f"FAILED {rgb / 'move' / 'empty'}: no image_%05d.jpg frames" in result.stdout
    assert [p.name for p in finished_folders(flow)] == ["shift", "still"]
    assert hidden_entries(flow) == []

    shift = flow / "move" / "shift"
    assert sorted(p.name for p in shift.iterdir()) == [
        "image_00001x.jpg", "image_00001y.jpg", "image_00002x.jpg", "image_00002y.jpg",
        "image_00003x.jpg", "image_00003y.jpg", "n_frames"]  # n rgb frames -> n flow frames
    assert (shift / "n_frames").read_text() == "3"
    for k in (1, 2, 3):
        fx, fy = (np.median(c[8:-8, 8:-8]) for c in read_flow(shift, k))
        assert abs(fx - 3) < 0.3 and abs(fy + 2) < 0.3, (k, fx, fy)
    for c in "xy":  # the last flow frame repeats the one before
        assert (shift / f"image_00003{c}.jpg").read_bytes() == (shift / f"image_00002{c}.jpg").read_bytes()

    still = flow / "move" / "still"
    assert (still / "n_frames").read_text() == "1"
    assert all(np.abs(c).max() <= STEP for c in read_flow(still, 1))  # a 1-frame video: one zero flow frame

    again = run_tool("convert_rgb_to_flow.py", f"--rgb_path={rgb}", f"--flow_path={flow}", "--n_jobs", 1)
    assert "done 0, skipped 2 (already done), failed 2" in again.stdout and again.returncode == 1


BACKENDS = ["opencv", "torch"]


def gap_and_truncation_tree(rgb):
    """12-frame folders: one whole, one without frame 5, one whose frame 7 lost its last fifth, one whose
    frame 3 is an empty file."""
    for name in ("whole", "gap", "truncated", "zero"):
        folder = rgb / "move" / name
        write_frames(folder, shifted_sequence(40, 48, dx=1, dy=0, n=12))
        (folder / "n_frames").write_text("12")
    (rgb / "move" / "gap" / "image_00005.jpg").unlink()
    cut = rgb / "move" / "truncated" / "image_00007.jpg"
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size * 4 // 5])
    (rgb / "move" / "zero" / "image_00003.jpg").write_bytes(b"")


@pytest.mark.parametrize("backend", BACKENDS)
def test_frames_must_line_up(tmp_path, backend):
    """A missing frame or a truncated JPEG fails the video, naming the file (no flow across the gap)."""
    rgb, flow = tmp_path / "rgb", tmp_path / "flow"
    gap_and_truncation_tree(rgb)
    result = run_tool("convert_rgb_to_flow.py", f"--rgb_path={rgb}", f"--flow_path={flow}", "--n_jobs", 1,
                      "--backend", backend, *(["--device", "cpu"] if backend == "torch" else []), timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "done 1, skipped 0 (already done), failed 3" in result.stdout
    gap, cut, zero = (rgb / "move" / name for name in ("gap", "truncated", "zero"))
    assert f"FAILED {gap}: {gap / 'image_00005.jpg'}: missing frame (1 missing; n_frames says 12)\n" in result.stdout
    assert f"FAILED {cut}: {cut / 'image_00007.jpg'}: truncated JPEG (no end marker)\n" \
        in result.stdout
    assert f"FAILED {zero}: {zero / 'image_00003.jpg'}: empty file\n" in result.stdout
    assert [p.name for p in finished_folders(flow)] == ["whole"]
    assert hidden_entries(flow) == []


def demo_like_tree(rgb):
    """Demo-style videos (a textured square gliding over a texture) as frame folders with n_frames:
    two sizes, so batches group pairs by size across videos, and a 1-frame video."""
    rng = np.random.default_rng(0)
    for v, (direction, size, n) in enumerate([((1, 0), (48, 64), 4), ((0, 1), (48, 64), 3),
                                              ((-1, 0), (40, 56), 4), ((0, -1), (48, 64), 1)]):
        frames = render_video(rng, direction, height=size[0], width=size[1], n_frames=n, speed=2.0)
        write_rgb_video(rgb, "glide", f"v{v}", list(frames))


def stored_levels(folder):
    return {p.name: cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(int) for p in sorted(folder.glob("*.jpg"))}


def test_torch_backend_finishes_a_tree_half_done_by_opencv(tmp_path):
    """Shard 1/2 with OpenCV, the rest with `--backend torch --device cpu`: same files, same flow."""
    rgb, flow, reference = tmp_path / "rgb", tmp_path / "flow", tmp_path / "flow_opencv"
    demo_like_tree(rgb)
    common = (f"--rgb_path={rgb}", "--n_jobs", 1)
    half = run_tool("convert_rgb_to_flow.py", *common, f"--flow_path={flow}", "--backend", "opencv", "--shard", "1/2")
    assert "done 2, skipped 0 (already done), failed 0" in half.stdout, half.stdout + half.stderr
    assert [p.name for p in finished_folders(flow)] == ["v0", "v2"]

    torch_args = ("--backend", "torch", "--device", "cpu", "--batch_pairs", 2)
    estimate = run_tool("convert_rgb_to_flow.py", *common, f"--flow_path={flow}", *torch_args, "--estimate")
    assert "2 videos to do (2 already done), 2 frame pairs" in estimate.stdout, estimate.stdout + estimate.stderr
    assert "pairs/s with the torch TV-L1 on cpu" in estimate.stdout and "projected on 1 CPU worker(s)" in estimate.stdout

    rest = run_tool("convert_rgb_to_flow.py", *common, f"--flow_path={flow}", *torch_args, timeout=600)
    assert rest.returncode == 0 and "done 2, skipped 2 (already done), failed 0" in rest.stdout, rest.stdout + rest.stderr
    assert [p.name for p in finished_folders(flow)] == ["v0", "v1", "v2", "v3"]
    assert hidden_entries(flow) == []

    run_tool("convert_rgb_to_flow.py", *common, f"--flow_path={reference}", "--backend", "opencv")
    for video in ("v1", "v3"):  # written by the torch backend
        ours, theirs = stored_levels(flow / "glide" / video), stored_levels(reference / "glide" / video)
        assert ours.keys() == theirs.keys()
        assert (flow / "glide" / video / "n_frames").read_text() == (reference / "glide" / video / "n_frames").read_text()
        for name in ours:
            assert np.mean(np.abs(ours[name] - theirs[name]) <= 1) >= 0.997, (video, name)


def test_shards_split_the_videos_without_overlap(tmp_path):
    rgb = tmp_path / "rgb"
    demo_like_tree(rgb)
    tasks = flow_tasks(rgb, tmp_path / "flow")
    parts = [select_shard(tasks, parse_shard(f"{k}/3")) for k in (1, 2, 3)]
    assert sorted(t.src for part in parts for t in part) == sorted(t.src for t in tasks)
    assert parse_shard(None) is None
    for bad in ("0/2", "3/2", "1-2", "a/b"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)


def test_a_videos_flow_does_not_depend_on_the_videos_before_it(tmp_path):
    """OpenCV's TV-L1 object keeps state from frames of another size: each video gets a fresh one, so a
    video's flow files are the same whether a smaller video was computed before it or not (a shared object
    moved this video's flow by up to 0.4 px)."""
    from src.prep.flow import compute_flow

    rng = np.random.default_rng(0)
    for key, (h, w) in (("big", (48, 64)), ("small", (32, 32))):
        grey = cv2.GaussianBlur(rng.integers(0, 255, (h, w + 8), dtype=np.uint8), (5, 5), 0)
        frames = [np.repeat(grey[:, 2 * i: 2 * i + w, None], 3, axis=2) for i in range(4)]
        write_rgb_video(tmp_path / "rgb", "c", key, frames)
    compute_flow(tmp_path / "rgb" / "c" / "big", tmp_path / "alone")
    compute_flow(tmp_path / "rgb" / "c" / "small", tmp_path / "small")
    compute_flow(tmp_path / "rgb" / "c" / "big", tmp_path / "after_small")
    names = sorted(p.name for p in (tmp_path / "alone").iterdir())
    assert len(names) == 9  # 4 x and 4 y frames and n_frames
    for name in names:
        assert (tmp_path / "alone" / name).read_bytes() == (tmp_path / "after_small" / name).read_bytes(), name
