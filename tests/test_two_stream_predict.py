"""predict.py on a raw video with both streams equals predicting the frame and flow folders the data tools write."""
import subprocess
import sys

import cv2
import mindspore as ms
import numpy as np
import pytest

from src.model.i3d import build_i3d
from src.infer.inference import load_input
from src.infer.video_streams import two_stream_clips
from tests.fixtures.shared import REPO
from tests.fixtures.network import reinitialise
from tests.fixtures.tools import run_tool

CROP = ["--crop", "32"]


def run_predict(*args, expect=0):
    proc = subprocess.run([sys.executable, "predict.py", *map(str, args)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == expect, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A 12-frame 64x48 video of a drifting texture, and its frame and flow trees from the data tools."""
    root = tmp_path_factory.mktemp("two_stream")
    video = root / "videos" / "drift" / "clip.avi"
    video.parent.mkdir(parents=True)
    base = np.random.default_rng(0).integers(0, 255, (48, 120, 3), dtype=np.uint8)
    base = cv2.GaussianBlur(base, (5, 5), 0)  # texture TV-L1 can follow
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for i in range(12):
        writer.write(np.ascontiguousarray(base[:, 2 * i:2 * i + 64]))
    writer.release()
    for tool, args in (("generate_rgb_jpgs", (root / "videos", root / "rgb", "hmdb51", "--size", 48, "--n_jobs", 1)),
                       ("convert_rgb_to_flow.py", ("--rgb_path", root / "rgb", "--flow_path", root / "flow",
                                                   "--n_jobs", 1, "--backend", "opencv"))):
        proc = run_tool(tool, *args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    for mode, seed in (("rgb", 1), ("flow", 2)):
        ms.save_checkpoint(reinitialise(build_i3d(mode, 3), seed=seed), str(root / f"{mode}.ckpt"))
    return root, video


def test_clips_equal_the_data_tools_trees(made):
    root, video = made
    rgb, flow = two_stream_clips(video, size=48, crop=32)
    np.testing.assert_array_equal(rgb, load_input(root / "rgb" / "drift" / "clip", "rgb", 48, 32))
    np.testing.assert_array_equal(flow, load_input(root / "flow" / "drift" / "clip", "flow", crop=32))
    assert rgb.shape == (3, 12, 32, 32) and flow.shape == (2, 12, 32, 32)
    assert np.abs(flow[0].astype(int) - 128).mean() > 2  # real motion, not an all-zero flow
    # the first N frames: the flow of frame N still looks at frame N + 1, as in the stored tree
    rgb5, flow5 = two_stream_clips(video, size=48, crop=32, num_frames=5)
    np.testing.assert_array_equal(rgb5, rgb[:, :5])
    np.testing.assert_array_equal(flow5, flow[:, :5])


def test_two_stream_predict_equals_frames_and_flow_predict(made, tmp_path):
    root, video = made
    out = run_predict(video, "--rgb_checkpoint", root / "rgb.ckpt", "--flow_checkpoint", root / "flow.ckpt",
                      "--size", 48, *CROP, "--top_k", 2, "--context", "py", "--save_logits", tmp_path / "two.npy")
    for stream in ("rgb", "flow", "joint"):
        assert f"(12 frames, 32x32, {stream}):" in out, out
    run_predict(root / "rgb" / "drift" / "clip", "--checkpoint", root / "rgb.ckpt", "--resize", 48, *CROP,
                "--context", "py", "--save_logits", tmp_path / "rgb.npy")
    run_predict(root / "flow" / "drift" / "clip", "--checkpoint", root / "flow.ckpt", "--mode", "flow", *CROP,
                "--context", "py", "--save_logits", tmp_path / "flow.npy")
    two = np.load(tmp_path / "two.npy")
    np.testing.assert_allclose(two[0], np.load(tmp_path / "rgb.npy"), atol=1e-5)
    np.testing.assert_allclose(two[1], np.load(tmp_path / "flow.npy"), atol=1e-5)
    np.testing.assert_allclose(two[2], two[0] + two[1], atol=1e-5)
    # the checkpoints must be the streams they are given as
    out = run_predict(video, "--rgb_checkpoint", root / "flow.ckpt", "--flow_checkpoint", root / "flow.ckpt",
                      "--size", 48, *CROP, expect=2)
    assert "--rgb_checkpoint" in out and "flow model" in out
