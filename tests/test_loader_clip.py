"""Decoding one clip: shape, dtype, range, RGB order, one crop and one mirror per clip, flow x sign."""
import numpy as np
import pytest

from tests.fixtures.frame_tree import write_flow_video, write_rgb_video
from src.data.loader import clip_reader
from src.model.network_input import scale_clip
from src.data.loader.spatial_transforms import center_plan, random_plan
from src.data.loader.temporal_sampling import random_window
from src.common.errors import VideoReadError
from src.data.media import read_image_rgb

H, W, S = 32, 40, 24
rows, cols = np.mgrid[0:H, 0:W]


def load_clip(*args, **kwargs):
    """The reader's uint8 clip through the network input step (what the network sees)."""
    raw = clip_reader.load_clip(*args, **kwargs)
    assert raw.dtype == np.uint8
    return scale_clip(raw)


def rgb_frames(n):
    """Frames with a spatial gradient (to see the crop) and a per-frame level (to see the order)."""
    return [np.stack([5 * cols + 3 * i, 5 * rows, 200 - 3 * i + 0 * cols], -1).astype(np.uint8)
            for i in range(1, n + 1)]


def naive_clip(folder, indices, mode, plan):
    """Reference: decode every frame separately with the shared reader, crop, mirror, scale."""
    out = []
    for i in indices:
        if mode == "rgb":
            img = read_image_rgb(folder / f"image_{i:05d}.jpg").astype(np.float64)
        else:
            img = np.stack([read_image_rgb(folder / f"image_{i:05d}{c}.jpg")[..., 0] for c in "xy"], -1).astype(np.float64)
        img = img[plan.top:plan.top + plan.size, plan.left:plan.left + plan.size] / 127.5 - 1
        if plan.flip:
            img = img[:, ::-1]
            if mode == "flow":
                img[..., 0] = -img[..., 0]
        out.append(img)
    return np.stack(out).transpose(3, 0, 1, 2)


def test_rgb_channel_order_shape_and_range(tmp_path):
    frame = np.zeros((H, W, 3), np.uint8)
    frame[:, :W // 2, 0] = 255  # left half saturated red
    frame[:, W // 2:, 2] = 255  # right half saturated blue
    folder = write_rgb_video(tmp_path, "a", "v", [frame] * 3)
    clip = load_clip(folder, [1, 2, 3], "rgb", S)
    assert clip.shape == (3, 3, S, S) and clip.dtype == np.float32
    assert clip.min() >= -1 and clip.max() <= 1
    left, right = clip[:, :, :, :6], clip[:, :, :, -6:]  # centre crop spans columns 8..31
    assert np.allclose(left[0], 1, atol=0.05) and np.allclose(left[2], -1, atol=0.05)
    assert np.allclose(right[0], -1, atol=0.05) and np.allclose(right[2], 1, atol=0.05)
    assert np.allclose(left[1], -1, atol=0.05) and np.allclose(right[1], -1, atol=0.05)


@pytest.mark.parametrize("mode", ["rgb", "flow"])
def test_random_clip_matches_reference_one_crop_and_mirror(tmp_path, mode):
    n = 8
    if mode == "rgb":
        folder = write_rgb_video(tmp_path, "a", "v", rgb_frames(n))
    else:
        xs = [(5 * cols + 2 * i).astype(np.uint8) for i in range(n)]
        ys = [(5 * rows + 2 * i).astype(np.uint8) for i in range(n)]
        folder = write_flow_video(tmp_path, "a", "v", xs, ys)
    flips, offsets = set(), set()
    for seed in range(10):
        rng, replay = np.random.default_rng(seed), np.random.default_rng(seed)
        clip = load_clip(folder, random_window(n, 5, rng), mode, S, rng)
        indices = random_window(n, 5, replay)
        plan = random_plan(H, W, S, replay)
        flips.add(plan.flip)
        offsets.add((plan.top, plan.left))
        assert clip.shape == (3 if mode == "rgb" else 2, 5, S, S)
        np.testing.assert_allclose(clip, naive_clip(folder, indices, mode, plan), atol=1e-6)
    assert flips == {True, False} and len(offsets) > 3


def test_one_crop_position_for_all_frames(tmp_path):
    folder = write_rgb_video(tmp_path, "a", "v", [rgb_frames(1)[0]] * 6)
    for seed in range(5):
        clip = load_clip(folder, [1, 2, 3, 4, 5, 6], "rgb", S, np.random.default_rng(seed))
        assert all(np.array_equal(clip[:, 0], clip[:, t]) for t in range(6))


def test_loop_padded_clip_repeats_frames(tmp_path):
    folder = write_rgb_video(tmp_path, "a", "v", rgb_frames(3))
    indices = [1, 2, 3, 1, 2, 3, 1, 2]
    clip = load_clip(folder, indices, "rgb", S)
    plan = center_plan(H, W, S)
    np.testing.assert_allclose(clip, naive_clip(folder, indices, "rgb", plan), atol=1e-6)


def test_decode_errors_name_the_file(tmp_path):
    folder = write_rgb_video(tmp_path, "a", "v", rgb_frames(4))
    (folder / "image_00002.jpg").unlink()
    with pytest.raises(VideoReadError, match="image_00002.jpg"):
        load_clip(folder, [1, 2, 3], "rgb", S)
    with pytest.raises(ValueError, match=r"image_00001.jpg: frames are 40x32"):
        load_clip(folder, [1], "rgb", 36)


def test_reader_yields_uint8_and_the_input_step_scales_it(tmp_path):
    folder = write_rgb_video(tmp_path, "a", "v", rgb_frames(4))
    raw = clip_reader.load_clip(folder, [1, 2, 3, 4], "rgb", S, np.random.default_rng(1))
    assert raw.dtype == np.uint8 and raw.shape == (3, 4, S, S)
    np.testing.assert_allclose(scale_clip(raw), raw / 127.5 - 1, atol=1e-6)
