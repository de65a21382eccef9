"""The torch TV-L1 against OpenCV's DualTVL1 on real frame pairs, and its batch independence."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.fixtures.media import texture, write_video
from src.data.media import iter_video_frames, read_gif_frames
from src.prep.tvl1_torch import agreement, load_reference, tvl1_flow

REFERENCE = Path(__file__).parent / "data" / "tvl1_pairs_320x240.npz"
LIMITS = {"mean_epe": 0.02, "p99_epe": 0.15}
MIN_WITHIN = 0.997


@pytest.fixture(autouse=True)
def one_thread():
    """The torch TV-L1 runs many small ops: one thread is fastest where other work shares the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def opencv_flow(first, second):
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    return np.stack([tvl1.calc(a, b, None) for a, b in zip(first, second)])


def assert_agrees(reference, flow):
    stats = agreement(reference, flow)
    assert stats["mean_epe"] <= LIMITS["mean_epe"] and stats["p99_epe"] <= LIMITS["p99_epe"], stats
    assert stats["within_one_level"] >= MIN_WITHIN, stats


def grey_pairs(frames, starts, size):
    grey = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA) for f in frames]
    return np.stack([grey[k] for k in starts]), np.stack([grey[k + 1] for k in starts])


def test_agrees_with_opencv_on_the_sample_video(shared):
    frames = read_gif_frames(shared("data", "samples", "v_CricketShot_g04_c01_rgb.gif"))
    first, second = grey_pairs(frames, [20, 50], (112, 112))
    assert_agrees(opencv_flow(first, second), tvl1_flow(first, second))


def test_agrees_with_the_shipped_320x240_reference():
    """A real pair at the UCF101/HMDB51 frame size, against OpenCV's flow stored with it (1/256 px steps)."""
    first, second, reference = load_reference(REFERENCE)
    assert first.shape[1:] == (240, 320)
    assert_agrees(reference[1:2], tvl1_flow(first[1:2], second[1:2]))


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


@pytest.mark.parametrize("compact", [0.0, 0.25])  # CPU and GPU defaults: converged rows dropped at once / later
def test_a_pair_does_not_depend_on_its_batch(compact):
    first, second, _ = load_reference(REFERENCE)
    small = [cv2.resize(f, (64, 48), interpolation=cv2.INTER_AREA) for f in (*first, *second)]
    first, second = np.stack(small[:4] + small[4:]), np.stack(small[4:] + small[:4])  # 8 pairs: both ways
    together = tvl1_flow(first, second, compact=compact)
    for k in (0, 5):
        assert np.abs(tvl1_flow(first[k], second[k]) - together[k]).max() <= 1e-5


def test_the_gpu_check_needs_neither_mindspore_nor_opencv():
    """scripts/check_flow_gpu.sh runs where only torch and numpy are installed."""
    import subprocess
    import sys

    code = ("import sys, runpy; sys.argv = ['x', '--help']\n"
            "try:\n    runpy.run_path('bench/check_flow_gpu.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "bad = sorted(m for m in ('mindspore', 'cv2') if m in sys.modules)\nassert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
