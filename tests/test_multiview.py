"""Multi-view testing: clips spread over the video x 1 or 3 crops, logits averaged into one row per video."""
import cv2
import numpy as np
import pytest

from src.model.i3d import build_i3d
from src.data.loader.clip_dataset import ClipDataset
from src.data.loader.spatial_transforms import view_plans
from src.data.loader.temporal_sampling import center_window, spread_windows
from src.evaluate.video_logits import network_forward, predict_logits
from tests.fixtures.frame_tree import write_annotation, write_rgb_video
from tests.fixtures.network import reinitialise


def test_clips_spread_from_first_to_last_start():
    starts = [w[0] - 1 for w in spread_windows(20, 9, 3)]
    assert starts == [0, 6, 11]  # 11 = the last start that fits
    assert all(len(w) == 9 for w in spread_windows(20, 9, 3))
    np.testing.assert_array_equal(spread_windows(20, 9, 1)[0], center_window(20, 9))
    # a video shorter than the window: every clip is the loop-padded video
    assert [w.tolist() for w in spread_windows(5, 8, 2)] == [[1, 2, 3, 4, 5, 1, 2, 3]] * 2


def test_three_crops_follow_the_longer_side():
    landscape = view_plans(40, 56, 32, 3)
    assert [(p.top, p.left) for p in landscape] == [(4, 0), (4, 12), (4, 24)]
    portrait = view_plans(56, 40, 32, 3)
    assert [(p.top, p.left) for p in portrait] == [(0, 4), (12, 4), (24, 4)]
    assert not any(p.flip for p in landscape + portrait)
    with pytest.raises(ValueError, match="num_crops"):
        view_plans(40, 56, 32, 2)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("views")
    rng = np.random.default_rng(0)
    videos = []
    for v, n in enumerate((20, 7)):  # one longer than the window, one shorter (loop-padded)
        frames = [rng.integers(0, 255, (40, 56, 3), dtype=np.uint8) for _ in range(n)]
        write_rgb_video(root / "rgb", "a", f"v{v}", frames)
        videos.append((f"v{v}", "a", "validation"))
    return root, write_annotation(root / "ann.json", ["a", "b"], videos)


def single_view(video_dir, window, plan):
    """One view read straight from the JPEGs: RGB, cropped, (3, T, S, S) uint8."""
    frames = [cv2.cvtColor(cv2.imread(str(video_dir / f"image_{i:05d}.jpg")), cv2.COLOR_BGR2RGB) for i in window]
    return np.stack([plan.apply(f) for f in frames]).transpose(3, 0, 1, 2)


def test_multi_view_logits_are_the_mean_of_the_single_views(tree):
    root, ann = tree
    forward = network_forward(reinitialise(build_i3d("rgb", 2), seed=4))
    source = ClipDataset(root / "rgb", ann, "rgb", "validation", False, 9, 32, num_clips=3, num_crops=3)
    ids, logits, labels = predict_logits(forward, source, batch_size=4)
    assert ids == ["v0", "v1"] and logits.shape == (2, 2) and labels.tolist() == [0, 0]
    for row, (vid, n) in zip(logits, (("v0", 20), ("v1", 7))):
        views = [single_view(root / "rgb" / "a" / vid, window, plan)
                 for window in spread_windows(n, 9, 3) for plan in view_plans(40, 56, 32, 3)]
        each = np.stack([forward(view[None])[0] for view in views])
        np.testing.assert_allclose(row, each.mean(axis=0), atol=1e-5)
        assert np.ptp(each[:, 0]) > 1e-3  # the views really differ
    # one view is the plain centred clip, as before
    plain = ClipDataset(root / "rgb", ann, "rgb", "validation", False, 9, 32)
    one = ClipDataset(root / "rgb", ann, "rgb", "validation", False, 9, 32, num_clips=1, num_crops=1)
    np.testing.assert_array_equal(plain.clip(0)[0], one.clip(0)[0])
