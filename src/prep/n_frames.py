"""Count the frames of rgb or flow folders correctly and (re)write their `n_frames` (generate_n_frames).

The original counted every file with 'image' in its name, so a flow folder (x and y per frame) got twice
its frame count; here rgb and flow frames are told apart and the indices must run 1..n without a gap.
"""
import os
import re
from pathlib import Path

from src.data.batch import Task, run_batch, walk_items
from src.data.n_frames import read_n_frames, write_n_frames
from src.data.video import VideoReadError

FRAME_RE = re.compile(r"^image_(\d{5})([xy]?)\.jpg$")


def _contiguous(indices, folder, kind):
    """n when the indices are exactly 1..n, otherwise an error naming the first missing frame."""
    n = max(indices)
    if len(indices) != n:
        first_gap = min(set(range(1, n + 1)) - indices)
        raise VideoReadError(folder, f"{kind} frame {first_gap} is missing (highest index {n}, {len(indices)} files)")
    return n


def count_frames(folder):
    """Frames in a folder of `image_%05d.jpg` (rgb) or `image_%05dx.jpg` + `...y.jpg` (flow) files."""
    folder = Path(folder)
    found = {"": set(), "x": set(), "y": set()}
    for name in os.listdir(folder):
        m = FRAME_RE.match(name)
        if m:
            found[m.group(2)].add(int(m.group(1)))
    rgb, fx, fy = found[""], found["x"], found["y"]
    if not (rgb or fx or fy):
        raise VideoReadError(folder, "no image_%05d.jpg (rgb) or image_%05dx/y.jpg (flow) frames")
    if fx != fy:
        raise VideoReadError(folder, f"flow x and y frames differ ({len(fx)} x, {len(fy)} y files)")
    counts = {}
    if rgb:
        counts["rgb"] = _contiguous(rgb, folder, "rgb")
    if fx:
        counts["flow"] = _contiguous(fx, folder, "flow")
    if len(set(counts.values())) > 1:
        raise VideoReadError(folder, f"holds {counts['rgb']} rgb and {counts['flow']} flow frames")
    return next(iter(counts.values()))


def update_n_frames(folder):
    """Write the correct count; False (nothing written) when `n_frames` already holds it."""
    n = count_frames(folder)
    try:
        if read_n_frames(folder) == n:
            return False
    except (OSError, VideoReadError):
        pass
    write_n_frames(folder, n)
    return True


def _update_task(task):
    return update_n_frames(task.src)


def generate_n_frames(root, n_jobs=1):
    """(Re)write `n_frames` in every `<root>/<class>/<video>` folder; folders already right count as skipped."""
    tasks = [Task(p, p) for _, p in walk_items(root, lambda p: p.is_dir())]
    if not tasks:
        raise FileNotFoundError(f"no <class>/<video> folders under {root}")
    return run_batch(tasks, _update_task, n_jobs=n_jobs, desc="n_frames", skip=None)
