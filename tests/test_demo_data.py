"""The synthetic demo set: HMDB51 layout and split format, decodable videos, motion-only classes."""
import hashlib
import re

import cv2
import numpy as np

from tests.fixtures.shared import shared_path
from src.data.media import read_frames
from src.prep.demo_data import DIRECTIONS, make_demo_data, render_video

LINE = re.compile(r"^(\S+\.avi) ([012]) $")  # official HMDB51 split lines end with a space


def parse_split(path):
    """{video: id} of one split file, checking every line's format."""
    lines = path.read_text().split("\n")
    assert lines[-1] == ""  # newline-terminated
    parsed = [LINE.match(line) for line in lines[:-1]]
    assert all(parsed), lines
    return {m.group(1): int(m.group(2)) for m in parsed}


def test_official_split_lines_match_the_same_format():
    parse_split(shared_path("data", "splits", "hmdb51", "brush_hair_test_split1.txt"))


def test_layout_splits_and_videos(tmp_path):
    written = make_demo_data(tmp_path, train_per_class=2, test_per_class=1, unused_per_class=1,
                             width=48, height=40, n_frames=9, speed=2, seed=5)
    assert sorted(written) == sorted(DIRECTIONS)
    for name, videos in written.items():
        assert sorted(p.name for p in (tmp_path / "videos" / name).iterdir()) == videos
        tests = []
        for split in (1, 2, 3):
            split_file = tmp_path / "splits" / f"{name}_test_split{split}.txt"
            assert "_".join(split_file.name.split("_")[:-2]) == name  # how hmdb51_json.py reads the label
            ids = parse_split(split_file)
            assert list(ids) == videos and sorted(ids.values()) == [0, 1, 1, 2]
            tests.append(next(v for v, i in ids.items() if i == 2))
        assert len(set(tests)) == 3  # each split tests another video
        frames = read_frames(tmp_path / "videos" / name / videos[0])
        assert len(frames) == 9 and frames[0].shape == (40, 48, 3)


def test_deterministic_given_seed(tmp_path):
    digests = []
    for run in ("a", "b"):
        make_demo_data(tmp_path / run, 1, 1, width=32, height=24, n_frames=4, seed=3)
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest()
                        for p in sorted((tmp_path / run).rglob("*")) if p.is_file()])
    assert digests[0] == digests[1]
    other = render_video(np.random.default_rng(np.random.SeedSequence([4, 0, 0])), (1, 0), 24, 32, 4)
    same = render_video(np.random.default_rng(np.random.SeedSequence([3, 0, 0])), (1, 0), 24, 32, 4)
    assert not np.array_equal(other, same)


def test_single_frames_carry_no_class_information():
    """Mean frame of each class: classes differ no more than two halves of the same class."""
    means = {}
    for c, (name, direction) in enumerate(DIRECTIONS.items()):
        videos = [render_video(np.random.default_rng([c, j]), direction, 24, 32, 8, 2).astype(np.float64)
                  for j in range(24)]
        means[name] = [np.mean(videos[:12], axis=(0, 1)), np.mean(videos[12:], axis=(0, 1))]
    within = np.mean([np.abs(a - b).mean() for a, b in means.values()])
    names = list(means)
    between = np.mean([np.abs(np.mean(means[p], 0) - np.mean(means[q], 0)).mean()
                       for i, p in enumerate(names) for q in names[i + 1:]])
    assert between < 1.2 * within  # ~0.7 * within expected when frames share one distribution


def test_motion_direction_is_recoverable_from_decoded_video(tmp_path):
    """Phase correlation of successive frame differences (the static background cancels) gives the velocity."""
    written = make_demo_data(tmp_path, 1, 1, width=64, height=48, n_frames=10, speed=3, seed=1)
    for name, videos in written.items():
        for video in videos:
            gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in read_frames(tmp_path / "videos" / name / video)])
            diffs = np.diff(gray.astype(np.float64), axis=0)
            shifts = np.array([cv2.phaseCorrelate(diffs[t], diffs[t + 1])[0] for t in range(len(diffs) - 1)])
            np.testing.assert_allclose(np.median(shifts, axis=0), 3 * np.array(DIRECTIONS[name]), atol=0.5)
