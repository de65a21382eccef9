"""extract_features: per-video features equal the network's endpoint output; windows; resume; video files."""
import subprocess
import sys

import cv2
import mindspore as ms
import numpy as np
import pytest

from src.infer.features import FeatureOptions, extract_features, feature_network
from src.model.i3d import InceptionI3D, build_i3d
from src.data.layout import count_frames
from src.data.loader.clip_reader import load_clip
from src.model.network_input import as_network_input
from tests.fixtures.shared import REPO
from tests.fixtures.frame_tree import write_flow_video, write_rgb_video
from tests.fixtures.network import reinitialise


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    root = tmp_path_factory.mktemp("features")
    rng = np.random.default_rng(0)
    for key, n in (("v0", 20), ("v1", 12)):
        write_rgb_video(root / "rgb", "a", key, [rng.integers(0, 255, (40, 56, 3), dtype=np.uint8) for _ in range(n)])
        write_flow_video(root / "flow", "b", key, [rng.integers(0, 255, (40, 56), dtype=np.uint8) for _ in range(n)],
                         [rng.integers(0, 255, (40, 56), dtype=np.uint8) for _ in range(n)])
    for mode, seed in (("rgb", 1), ("flow", 2)):
        ms.save_checkpoint(reinitialise(build_i3d(mode, 3), seed=seed), str(root / f"{mode}.ckpt"))
    return root


def endpoint_output(root, mode, endpoint, video_dir, frames=None):
    """The endpoint's output for a clip, from a network built and loaded here (not by src.infer.features)."""
    in_channels = 3 if mode == "rgb" else 2
    net = InceptionI3D(num_classes=3, in_channels=in_channels, final_endpoint=endpoint)
    ms.load_param_into_net(net, ms.load_checkpoint(str(root / f"{mode}.ckpt")), strict_load=False)
    net.set_train(False)
    frames = frames if frames is not None else np.arange(1, count_frames(video_dir) + 1)
    clip = load_clip(video_dir, frames, mode, 32)
    return net(ms.Tensor(as_network_input(clip[None]))).asnumpy()[0]


@pytest.mark.parametrize("mode", ["rgb", "flow"])
def test_features_equal_the_endpoint_output(trees, tmp_path, mode):
    options = FeatureOptions(str(trees / f"{mode}.ckpt"), mode, crop=32, context="py")
    summary = extract_features(trees / mode, tmp_path / "out", options)
    assert (summary.done, summary.failures) == (2, [])
    cls = "a" if mode == "rgb" else "b"
    for key in ("v0", "v1"):
        features = np.load(tmp_path / "out" / cls / f"{key}.npy")
        expected = endpoint_output(trees, mode, "Mixed_5c", trees / mode / cls / key)  # (1024, T', H', W')
        assert features.shape == (expected.shape[1], 1024) and features.dtype == np.float32
        np.testing.assert_allclose(features, expected.mean(axis=(2, 3)).T, atol=1e-5)
    # a second run finds everything done
    again = extract_features(trees / mode, tmp_path / "out", options)
    assert (again.done, again.skipped) == (0, 2)


def test_windows_pool_over_space_and_time_at_any_endpoint(trees, tmp_path):
    options = FeatureOptions(str(trees / "rgb.ckpt"), "rgb", endpoint="Mixed_4c", crop=32, window=9, stride=5,
                             batch_size=2, context="py")
    extract_features(trees / "rgb", tmp_path / "w", options)
    features = np.load(tmp_path / "w" / "a" / "v0.npy")
    assert features.shape == (3, 512)  # starts 0, 5, 10 of 20 frames
    for row, start in zip(features, (0, 5, 10)):
        out = endpoint_output(trees, "rgb", "Mixed_4c", trees / "rgb" / "a" / "v0", np.arange(start + 1, start + 10))
        np.testing.assert_allclose(row, out.mean(axis=(1, 2, 3)), atol=1e-5)
    assert np.ptp(features[:, 0]) > 1e-4  # the windows really differ


def test_video_files_and_clear_errors(trees, tmp_path):
    """Video files through the command line, with two workers; a wrong --mode names the checkpoint."""
    videos = tmp_path / "videos" / "c"
    videos.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in ("x", "y"):
        writer = cv2.VideoWriter(str(videos / f"{name}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (56, 40))
        for _ in range(10):
            writer.write(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8))
        writer.release()
    cmd = [sys.executable, "extract_features.py", str(tmp_path / "videos"), str(tmp_path / "vf"), "--checkpoint",
           str(trees / "rgb.ckpt"), "--ext", "avi", "--size", "40", "--crop", "32", "--context", "py"]
    proc = subprocess.run(cmd + ["--n_jobs", "2"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0 and "done 2, skipped 0 (already done), failed 0" in proc.stdout, proc.stderr[-2000:]
    assert np.load(tmp_path / "vf" / "c" / "x.npy").shape[1] == 1024
    assert not [p for p in (tmp_path / "vf").rglob("*") if ".partial-" in p.name]  # no temp file left
    proc = subprocess.run(cmd + ["--mode", "flow"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and "rgb.ckpt is a rgb model but --mode is flow" in proc.stderr
    with pytest.raises(ValueError, match="--endpoint Mixed_9z"):
        feature_network(trees / "rgb.ckpt", "Mixed_9z")
