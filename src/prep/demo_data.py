"""A small synthetic action set in the HMDB51 on-disk format, that only motion can separate.

Each video shows a textured square gliding over a textured background in one direction (its
class: left, right, up or down), wrapping around the frame edges. Textures, start position and
background are random per video and the motion wraps, so every single frame has the same
distribution in every class: a model must use time (rgb I3D over frames, or optical flow).

Layout written (what generate_rgb_jpgs.py and hmdb51_json.py read):
  <out>/videos/<class>/<video>.avi                 MJPG in AVI, decodable by cv2.VideoCapture
  <out>/splits/<class>_test_split{1,2,3}.txt       "<video>.avi <id> " lines, 1 train / 2 test / 0 unused

Usage: python -m src.prep.demo_data OUT [--train_per_class 8] [--test_per_class 4] [--seed 0] ...
"""
import argparse
from pathlib import Path

import cv2
import numpy as np

from src.common.flag_types import MAX_FPS, bounded_int, positive_float, seed_value
from src.data.media import write_video

# Class name -> unit motion (dx, dy) in image coordinates (y grows downwards).
DIRECTIONS = {"move_down": (0, 1), "move_left": (-1, 0), "move_right": (1, 0), "move_up": (0, -1)}


def texture(rng, height, width, cell):
    """A smooth random colour texture: random colours on a `cell`-pixel grid, bilinearly upsampled."""
    coarse = rng.integers(0, 256, (max(2, height // cell), max(2, width // cell), 3), dtype=np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)


def render_video(rng, direction, height=120, width=160, n_frames=32, speed=3.0):
    """RGB uint8 frames (T, H, W, 3) of one video whose square moves `speed` px/frame along `direction`."""
    background = texture(rng, height, width, cell=12)
    side = max(4, min(height, width) // 3)
    square = texture(rng, side, side, cell=4)
    square[[0, -1], :] = 0  # a dark outline makes the square stand out from the background
    square[:, [0, -1]] = 0
    top, left = int(rng.integers(0, height)), int(rng.integers(0, width))
    dx, dy = direction
    steps = np.rint(speed * np.arange(n_frames)).astype(int)
    frames = np.repeat(background[None], n_frames, axis=0)
    for t, step in enumerate(steps):
        rows = (top + dy * step + np.arange(side)) % height
        cols = (left + dx * step + np.arange(side)) % width
        frames[t][np.ix_(rows, cols)] = square
    return frames


def split_ids(n_train, n_test, n_unused, split):
    """Official-style ids (1 train, 2 test, 0 unused) of a class's videos in `split` (1..3).

    Each split moves the test block by n_test videos, so the three splits test different videos.
    """
    ids = [2] * n_test + [0] * n_unused + [1] * n_train
    return np.roll(ids, (split - 1) * n_test).tolist()


# --n_frames of the synthetic videos (here and in synthetic_download): flow needs a pair
frame_count = bounded_int(2, 10000, "a frame count 2..10000")

def make_demo_data(out, train_per_class=8, test_per_class=4, unused_per_class=0, width=160, height=120,
                   n_frames=32, speed=3.0, fps=25, seed=0, classes=tuple(DIRECTIONS)):
    """Write the video tree and split files under `out`; returns {class: [video file names]}.

    Video j of class c is drawn from SeedSequence([seed, c, j]): deterministic, and unchanged when
    the number of videos per class changes.
    """
    out = Path(out)
    per_class = train_per_class + test_per_class + unused_per_class
    (out / "splits").mkdir(parents=True, exist_ok=True)
    written = {}
    for c, name in enumerate(classes):
        folder = out / "videos" / name
        folder.mkdir(parents=True, exist_ok=True)
        written[name] = []
        for j in range(per_class):
            rng = np.random.default_rng(np.random.SeedSequence([seed, c, j]))
            video = f"{name}_{j:03d}.avi"
            write_video(folder / video, render_video(rng, DIRECTIONS[name], height, width, n_frames, speed), fps)
            written[name].append(video)
        for split in (1, 2, 3):
            ids = split_ids(train_per_class, test_per_class, unused_per_class, split)
            lines = "".join(f"{video} {i} \n" for video, i in zip(written[name], ids))
            (out / "splits" / f"{name}_test_split{split}.txt").write_text(lines)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="output folder (videos/ and splits/ are written inside)")
    count = bounded_int(0, 10000, "a video count 0..10000")
    parser.add_argument("--train_per_class", type=count, default=8)
    parser.add_argument("--test_per_class", type=count, default=4)
    parser.add_argument("--unused_per_class", type=count, default=0)
    parser.add_argument("--width", type=bounded_int(32, 4096, "a width 32..4096"), default=160)
    parser.add_argument("--height", type=bounded_int(32, 4096, "a height 32..4096"), default=120)
    parser.add_argument("--n_frames", type=frame_count, default=32)
    parser.add_argument("--speed", type=positive_float, default=3.0, help="pixels per frame")
    parser.add_argument("--fps", type=bounded_int(1, int(MAX_FPS), f"a frame rate 1..{MAX_FPS:g}"), default=25)
    parser.add_argument("--seed", type=seed_value, default=0)
    args = parser.parse_args(argv)
    written = make_demo_data(args.out, args.train_per_class, args.test_per_class, args.unused_per_class,
                             args.width, args.height, args.n_frames, args.speed, args.fps, args.seed)
    total = sum(len(v) for v in written.values())
    print(f"wrote {total} videos in {len(written)} classes to {Path(args.out) / 'videos'}, "
          f"split files to {Path(args.out) / 'splits'}")


if __name__ == "__main__":
    main()
