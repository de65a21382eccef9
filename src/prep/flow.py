"""RGB frame folders -> TV-L1 optical flow folders (convert_rgb_to_flow).

Flow k = TV-L1(frame k -> frame k+1) on grayscale frames; the last flow frame repeats the one before,
so a video of n rgb frames gets n flow frames (a 1-frame video gets a single zero flow frame).
Each component is clipped to +-bound and stored as a uint8 JPEG: round((f + bound) * 255 / (2 bound)),
`image_%05dx.jpg` (horizontal) and `image_%05dy.jpg` (vertical), as the original's loader expects.
"""
import shutil
import time
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from src.atomic import exclusive_output
from src.errors import VideoReadError
from src.media import decode_image
from src.layout import (FLOW_BOUND, RGB_FRAME_PATTERN, contiguous_rgb_frames, flow_names, is_finished, quantise_flow,
                        rgb_frame_paths, write_n_frames)
from src.prep.jobs import Task, build_folder, resolve_jobs, run_batch, walk_items
_TVL1 = None  # one per process, reused for every pair


def tvl1():
    global _TVL1
    if _TVL1 is None:
        _TVL1 = cv2.optflow.DualTVL1OpticalFlow_create()
    return _TVL1


def read_gray(path):
    return decode_image(path, cv2.IMREAD_GRAYSCALE)


def encode_flow(flow, bound):
    """The two JPEG byte strings (x, y) of one flow field."""
    q = quantise_flow(flow, bound)
    encoded = []
    for c in (0, 1):
        ok, buf = cv2.imencode(".jpg", q[..., c])
        if not ok:
            raise OSError("cv2.imencode failed on a flow frame")
        encoded.append(buf.tobytes())
    return encoded


def write_flow(folder, k, flow, bound):
    for name, data in zip(flow_names(k), encode_flow(flow, bound)):
        (Path(folder) / name).write_bytes(data)


def _frame_pairs(paths):
    """Yield (k, frame k, frame k+1) as grayscale, reading each JPEG once; sizes must agree."""
    prev = read_gray(paths[0])
    for k, path in enumerate(paths[1:], 1):
        cur = read_gray(path)
        if cur.shape != prev.shape:
            raise VideoReadError(path, f"frame size {cur.shape[::-1]} differs from the previous frame's {prev.shape[::-1]}")
        yield k, prev, cur
        prev = cur


def compute_flow(rgb_dir, dst, bound=FLOW_BOUND):
    """TV-L1 flow of the frame folder rgb_dir into the flow folder dst; returns the frame count."""

    def fill(tmp):
        paths = contiguous_rgb_frames(rgb_dir)
        if not paths:
            raise VideoReadError(rgb_dir, f"no {RGB_FRAME_PATTERN} frames")
        n = len(paths)
        if n == 1:
            shape = read_gray(paths[0]).shape
            write_flow(tmp, 1, np.zeros(shape + (2,), np.float32), bound)
            write_n_frames(tmp, 1)
            return 1
        for k, prev, cur in _frame_pairs(paths):
            write_flow(tmp, k, tvl1().calc(prev, cur, None), bound)
        for src, dst_name in zip(flow_names(n - 1), flow_names(n)):
            shutil.copyfile(tmp / src, tmp / dst_name)
        write_n_frames(tmp, n)
        return n

    return build_folder(dst, fill)


def _flow_task(task, bound):
    compute_flow(task.src, task.dst, bound)


def flow_tasks(rgb_root, flow_root):
    """A task for every frame folder `<rgb_root>/<class>/<video>`, output at `<flow_root>/<class>/<video>`."""
    items = walk_items(rgb_root, lambda p: p.is_dir())
    return [Task(p, Path(flow_root) / cls / p.name) for cls, p in items]


def convert_rgb_to_flow(rgb_root, flow_root, n_jobs=1, bound=FLOW_BOUND):
    tasks = flow_tasks(rgb_root, flow_root)
    if not tasks:
        raise FileNotFoundError(f"no <class>/<video> frame folders under {rgb_root}")
    with exclusive_output(flow_root, "convert_rgb_to_flow"):
        return run_batch(tasks, partial(_flow_task, bound=bound), skip=is_finished, n_jobs=n_jobs, desc="flow",
                         init=tvl1)


def measure_pair_rate(rgb_dir, bound=FLOW_BOUND, max_pairs=3):
    """Pairs per second on one core for real frames (read, TV-L1, quantise, JPEG-encode), and the pair count."""
    cv2.setNumThreads(1)
    pairs = _frame_pairs(rgb_frame_paths(rgb_dir)[: max_pairs + 1])
    start = time.perf_counter()
    done = 0
    for _, prev, cur in pairs:
        encode_flow(tvl1().calc(prev, cur, None), bound)
        done += 1
    return done / (time.perf_counter() - start), done


def format_duration(seconds):
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    text = f"{rest // 3600}h {rest % 3600 // 60:02d}m {rest % 60:02d}s"
    return f"{days}d {text}" if days else text


def estimate(rgb_root, flow_root, n_jobs=1, bound=FLOW_BOUND):
    """Print the frame pairs still to do and the projected time at the rate measured here; writes nothing."""
    tasks = flow_tasks(rgb_root, flow_root)
    todo = [t for t in tasks if not is_finished(t.dst)]
    counts = [len(rgb_frame_paths(t.src)) for t in todo]
    pairs = sum(max(n - 1, 0) for n in counts)
    n_jobs = max(1, min(resolve_jobs(n_jobs), len(todo)))  # a worker needs a video of its own
    print(f"{len(todo)} videos to do ({len(tasks) - len(todo)} already done), {pairs} frame pairs")
    for sample in (t.src for t, n in zip(todo, counts) if n >= 2):
        try:
            rate, measured = measure_pair_rate(sample, bound)
            size = "x".join(map(str, read_gray(rgb_frame_paths(sample)[0]).shape[::-1]))
            break
        except VideoReadError as exc:  # an unreadable JPEG: the real run will list it; measure elsewhere
            print(f"cannot measure on {exc}")
    else:
        print("nothing to measure: no readable video left with 2 or more frames")
        return 0
    print(f"measured {rate:.2f} pairs/s on one core ({measured} pairs of {sample}, {size})")
    print(f"projected with {n_jobs} workers: {format_duration(pairs / rate / n_jobs)} "
          f"(assumes linear scaling; bench/bench_flow.py measures it)")
    return 0
