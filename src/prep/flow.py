"""RGB frame folders -> TV-L1 optical flow folders (convert_rgb_to_flow).

Flow k = TV-L1(frame k -> frame k+1) on grayscale frames; the last flow frame repeats the one before,
so a video of n rgb frames gets n flow frames (a 1-frame video gets a single zero flow frame).
Each component is clipped to +-bound and stored as a uint8 JPEG: round((f + bound) * 255 / (2 bound)),
`image_%05dx.jpg` (horizontal) and `image_%05dy.jpg` (vertical), as the original's loader expects.
"""
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2

from src.common.atomic import refuse_overlap, writable_folder
from src.common.errors import VideoReadError
from src.common.flag_types import ascii_digits
from src.data.layout import FLOW_BOUND, contiguous_rgb_frames, is_finished, rgb_frame_paths, write_n_frames
from src.prep.flow_files import (encode_flow, flow_file_numbers, frame_pairs, read_gray, write_encoded, write_flow,
                                 zero_flow)
from src.prep.jobs import Task, build_folder, format_duration, resolve_jobs, run_batch, walk_items

BACKENDS = ("auto", "opencv", "torch")


def tvl1():
    """A new OpenCV TV-L1 (its defaults are the tools' settings), one per video: the object keeps state from
    frames of another size (a pair computed after a pair of another size differs by up to ~0.2 px from a
    fresh object's result), so one shared object would make a video's flow depend on the videos before it."""
    return cv2.optflow.DualTVL1OpticalFlow_create()


def compute_flow(rgb_dir, dst, bound=FLOW_BOUND):
    """TV-L1 flow of the frame folder rgb_dir into the flow folder dst; returns the frame count."""

    def fill(tmp):
        paths = contiguous_rgb_frames(rgb_dir)
        n = len(paths)
        if n == 1:
            write_flow(tmp, 1, zero_flow(read_gray(paths[0]).shape), bound)
            write_n_frames(tmp, 1)
            return 1
        flow = tvl1()
        for k, prev, cur in frame_pairs(paths):
            encoded = encode_flow(flow.calc(prev, cur, None), bound)
            for number in flow_file_numbers(k, n):
                write_encoded(tmp, number, encoded)
        write_n_frames(tmp, n)
        return n

    return build_folder(dst, fill)


def _flow_task(task, bound):
    compute_flow(task.src, task.dst, bound)


def flow_tasks(rgb_root, flow_root):
    """A task for every frame folder `<rgb_root>/<class>/<video>`, output at `<flow_root>/<class>/<video>`."""
    items = walk_items(rgb_root, lambda p: p.is_dir())
    return [Task(p, Path(flow_root) / cls / p.name) for cls, p in items]


@dataclass(frozen=True)
class Backend:
    """Which TV-L1 computes the flow: OpenCV's (one process per core) or ours in torch on `devices`."""

    name: str = "opencv"
    devices: tuple = ()
    batch_pairs: int = 0


def resolve_backend(name="auto", device=None, batch_pairs=None):
    """--backend/--device/--batch_pairs -> Backend. auto: torch on the GPU when torch sees one (or when
    --device is given), else OpenCV."""
    if name not in BACKENDS:
        raise ValueError(f"--backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    if name == "opencv":
        if device:
            raise ValueError("--device applies to --backend torch only")
        return Backend()
    import torch

    gpus = torch.cuda.device_count()
    if name == "auto" and not device and not gpus:
        return Backend()
    devices = []
    for text in (device or ("cuda" if gpus else "cpu")).split(","):
        try:
            dev = torch.device(text.strip())
        except RuntimeError as exc:
            raise ValueError(f"--device {text!r}: {exc}") from None
        if dev.type == "cuda" and (dev.index or 0) >= gpus:
            raise ValueError(f"--device {text!r}: torch sees {gpus} GPU(s) here")
        devices.append(str(dev))
    if batch_pairs is not None and batch_pairs < 1:
        raise ValueError(f"--batch_pairs must be at least 1, got {batch_pairs}")
    default_batch = 64 if any(d.startswith("cuda") for d in devices) else 8
    return Backend("torch", tuple(devices), batch_pairs or default_batch)


def parse_shard(text):
    """'K/N' (1 <= K <= N) -> (K, N); None stays None."""
    if text is None:
        return None
    k, sep, n = text.partition("/")
    if not (sep and ascii_digits(k) and ascii_digits(n) and 1 <= int(k) <= int(n)):
        raise ValueError(f"--shard must be K/N with 1 <= K <= N (e.g. 3/8), got {text!r}")
    return int(k), int(n)


def select_shard(tasks, shard):
    """Shard K of N: every N-th video of the sorted list from the K-th on; N shards cover it exactly once,
    whatever each machine has already finished."""
    if shard is None:
        return tasks
    k, n = shard
    return tasks[k - 1::n]


def check_paths(rgb_root, flow_root):
    """The output-path rule (src/common/atomic.py): flow written into the rgb tree would overwrite it or become
    extra "videos" of it."""
    refuse_overlap([("--rgb_path", rgb_root)], [("--flow_path", flow_root)])


def flow_run_tasks(rgb_root, flow_root, shard=None):
    tasks = select_shard(flow_tasks(rgb_root, flow_root), shard)
    if not tasks:
        raise FileNotFoundError(f"no <class>/<video> frame folders under {rgb_root}"
                                + (f" in shard {shard[0]}/{shard[1]}" if shard else ""))
    return tasks


def convert_rgb_to_flow(rgb_root, flow_root, n_jobs=1, bound=FLOW_BOUND, backend=Backend(), shard=None):
    """Flow of every frame folder (of this shard) not finished yet; returns the Summary. n_jobs: OpenCV
    worker processes, or the torch backend's decode/encode threads."""
    check_paths(rgb_root, flow_root)
    tasks = flow_run_tasks(rgb_root, flow_root, shard)
    # Locks per video, not per folder: the documented sharding runs N jobs into one FLOW tree at once.
    writable_folder(flow_root, "--flow_path")
    if backend.name == "torch":
        from src.prep.flow_torch import run_torch_flow

        return run_torch_flow(tasks, bound, backend.devices, backend.batch_pairs, resolve_jobs(n_jobs))
    return run_batch(tasks, partial(_flow_task, bound=bound), skip=is_finished, n_jobs=n_jobs, desc="flow")


def measure_pair_rate(rgb_dir, bound=FLOW_BOUND, max_pairs=3):
    """Pairs per second on one core for real frames (read, TV-L1, quantise, JPEG-encode), and the pair count."""
    cv2.setNumThreads(1)
    pairs = frame_pairs(contiguous_rgb_frames(rgb_dir)[: max_pairs + 1])
    start = time.perf_counter()
    done, flow = 0, tvl1()
    for _, prev, cur in pairs:
        encode_flow(flow.calc(prev, cur, None), bound)
        done += 1
    return done / (time.perf_counter() - start), done


def estimate(rgb_root, flow_root, n_jobs=1, bound=FLOW_BOUND, backend=Backend(), shard=None):
    """Print the frame pairs still to do and the projected time at the rate measured here; writes nothing."""
    check_paths(rgb_root, flow_root)
    tasks = flow_run_tasks(rgb_root, flow_root, shard)
    todo = [t for t in tasks if not is_finished(t.dst)]
    counts = [len(rgb_frame_paths(t.src)) for t in todo]
    pairs = sum(max(n - 1, 0) for n in counts)
    n_jobs = max(1, min(resolve_jobs(n_jobs), len(todo)))  # a worker needs a video of its own
    print(f"{len(todo)} videos to do ({len(tasks) - len(todo)} already done), {pairs} frame pairs")
    for sample in (t.src for t, n in zip(todo, counts) if n >= 2):
        try:
            if backend.name == "torch":
                from src.prep.flow_torch import measure_torch_rate

                rate, measured, path = measure_torch_rate(sample, backend.devices[0], backend.batch_pairs)
            else:
                rate, measured = measure_pair_rate(sample, bound)
            size = "x".join(map(str, read_gray(contiguous_rgb_frames(sample)[0]).shape[::-1]))
            break
        except VideoReadError as exc:  # an unreadable JPEG: the real run will list it; measure elsewhere
            print(f"cannot measure on {exc}")
    else:
        print("nothing to measure: no readable video left with 2 or more frames")
        return 0
    if backend.name == "torch":
        workers = n_jobs if backend.devices == ("cpu",) else len(backend.devices)
        print(f"measured {rate:.2f} pairs/s with the torch TV-L1 on {backend.devices[0]} "
              f"({measured} pairs of {sample}, {size}, batch {measured})")
        print(f"TV-L1 path: {path[0]} ({path[1]})")
        print(f"projected on {workers} {'CPU worker' if backend.devices == ('cpu',) else 'device'}(s): "
              f"{format_duration(pairs / rate / workers)} (assumes the same rate on each)")
        return 0
    print(f"measured {rate:.2f} pairs/s on one core ({measured} pairs of {sample}, {size})")
    print(f"projected with {n_jobs} workers: {format_duration(pairs / rate / n_jobs)} "
          f"(assumes linear scaling; bench/bench_flow.py measures it)")
    return 0
