"""Temporal windows (random/centred/whole, loop padding) and crop plans."""
import numpy as np
import pytest

from src.data.loader.spatial_transforms import CropPlan, center_plan, invert_flow_x, random_plan
from src.data.loader.temporal_sampling import center_window, clip_indices, loop_pad, random_window


def test_loop_padding():
    assert loop_pad([1, 2, 3], 8).tolist() == [1, 2, 3, 1, 2, 3, 1, 2]
    rng = np.random.default_rng(0)
    assert random_window(3, 8, rng).tolist() == [1, 2, 3, 1, 2, 3, 1, 2]
    assert center_window(3, 8).tolist() == [1, 2, 3, 1, 2, 3, 1, 2]


def test_every_start_reachable_and_uniform():
    rng = np.random.default_rng(1)
    starts = [random_window(10, 4, rng)[0] for _ in range(3000)]
    counts = np.bincount(starts)[1:]  # first frames 1..7, nothing later
    assert len(counts) == 7 and counts.min() > 0  # starts 1..7 (0-based 0..n-duration) incl. the last
    assert counts.max() / counts.min() < 1.4
    window = random_window(10, 4, rng)
    assert np.array_equal(window, np.arange(window[0], window[0] + 4))
    assert random_window(4, 4, rng).tolist() == [1, 2, 3, 4]


def test_center_window_and_whole_video():
    assert center_window(10, 4).tolist() == [4, 5, 6, 7]
    assert center_window(9, 4).tolist() == [3, 4, 5, 6]
    assert clip_indices(10, 4).tolist() == clip_indices(10, 4).tolist() == [4, 5, 6, 7]
    assert clip_indices(5, 0).tolist() == [1, 2, 3, 4, 5]


def test_crop_plans():
    plan = center_plan(240, 320, 224)
    assert (plan.top, plan.left, plan.flip) == (8, 48, False)
    rng = np.random.default_rng(2)
    plans = [random_plan(6, 7, 4, rng) for _ in range(400)]
    assert {p.top for p in plans} == {0, 1, 2} and {p.left for p in plans} == {0, 1, 2, 3}
    assert 150 < sum(p.flip for p in plans) < 250
    with pytest.raises(ValueError, match=r"video_dir/image_00001.jpg: frames are 40x32.*48x48"):
        center_plan(32, 40, 48, where="video_dir/image_00001.jpg")


def test_plan_mirrors_and_flow_x_inverts():
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    assert np.array_equal(CropPlan(1, 2, 3).apply(image), image[1:4, 2:5])
    assert np.array_equal(CropPlan(1, 2, 3, flip=True).apply(image), image[1:4, 2:5][:, ::-1])
    x = np.array([[0, 100, 255]], dtype=np.uint8)
    invert_flow_x(x)
    assert x.tolist() == [[255, 155, 0]]


def test_no_flip_keeps_crops_and_never_mirrors():
    """--no-flip (direction-sensitive classes): the same crop positions for a seed, never a mirror."""
    with_flip = [random_plan(6, 7, 4, np.random.default_rng(i)) for i in range(50)]
    without = [random_plan(6, 7, 4, np.random.default_rng(i), flip=False) for i in range(50)]
    assert any(p.flip for p in with_flip) and not any(p.flip for p in without)
    assert [(p.top, p.left) for p in with_flip] == [(p.top, p.left) for p in without]
