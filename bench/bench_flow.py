"""TV-L1 flow throughput, OpenCV against our torch TV-L1 (CPU and, when present, CUDA), in one run.

1. Kernels on real 320x240 pairs (tests/data/tvl1_pairs_320x240.npz, distinct; a GPU stream cycles them): OpenCV on
   one core and on N processes, the torch TV-L1 on the CPU (--cpu_batches, small: about 1 s per pair per
   core) and on every visible GPU at --gpu_batches (default 16, 64, 256), each with its end-point error
   against OpenCV's flow of the same pairs.
2. convert_rgb_to_flow end to end (read, flow, quantise, JPEG-encode, write): 1 worker and N workers.
   Frames are a smooth texture moving 2 px per frame at --width x --height, or real frames via --rgb_path.
Prints figures and ratios (not a test). Run from the repository root: python bench/bench_flow.py [--n_jobs N]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from src.prep.jobs import default_jobs  # noqa: E402
from src.prep.flow import convert_rgb_to_flow  # noqa: E402
from tests.fixtures.media import shifted_sequence  # noqa: E402
from src.data.layout import rgb_frame_paths  # noqa: E402
from src.prep.flow_pairs import load_pairs  # noqa: E402
from src.prep.tvl1_stream import measure_throughput  # noqa: E402
from src.prep.tvl1_torch import agreement, format_agreement  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "data" / "tvl1_pairs_320x240.npz"


def _opencv_pair(pair):
    return cv2.optflow.DualTVL1OpticalFlow_create().calc(pair[0], pair[1], None)


def opencv_rate(first, second, n_jobs):
    """Pairs/s of OpenCV's TV-L1 with one thread per process on n_jobs processes (2 pairs each), and its
    flow of the given pairs (from the single-process run)."""
    cv2.setNumThreads(1)
    if n_jobs == 1:
        start = time.perf_counter()
        flow = np.stack([_opencv_pair(p) for p in zip(first, second)])
        return len(first) / (time.perf_counter() - start), flow
    import multiprocessing

    pairs = [(first[k % len(first)], second[k % len(first)]) for k in range(2 * n_jobs)]
    with multiprocessing.get_context("fork").Pool(n_jobs) as pool:
        pool.map(_opencv_pair, pairs[:n_jobs])  # workers started and warm
        start = time.perf_counter()
        pool.map(_opencv_pair, pairs, chunksize=1)
        return len(pairs) / (time.perf_counter() - start), None


def kernel_bench(args):
    first, second, _ = load_pairs(REFERENCE)
    first, second = first[: args.pairs], second[: args.pairs]
    print(f"== TV-L1 on {len(first)} distinct real pairs at {first.shape[2]}x{first.shape[1]}; "
          f"load average {os.getloadavg()[0]:.2f}")
    rate1, reference = opencv_rate(first, second, 1)
    print(f"opencv      1 core        : {rate1:7.2f} pairs/s")
    rate_n, _ = opencv_rate(first, second, args.n_jobs)
    print(f"opencv {args.n_jobs:3d} processes   : {rate_n:7.2f} pairs/s ({rate_n / rate1:.2f}x)")
    runs = [("cpu", b, t) for b in args.cpu_batches for t in sorted({1, args.n_jobs})]
    runs += [(f"cuda:{d}", b, 1) for d in range(torch.cuda.device_count()) for b in args.gpu_batches]
    if not torch.cuda.is_available():
        print("(torch sees no GPU here: CUDA rows skipped; scripts/check_flow_gpu.sh measures them on a GPU machine)")
    for device, batch, threads in runs:
        torch.set_num_threads(threads)
        rate, flow, _, _ = measure_throughput(first, second, batch, device)
        where = f"{device} {threads} thr" if device == "cpu" else device
        print(f"torch {where:9s} batch {batch:3d}: {rate:7.2f} pairs/s ({rate / rate1:.2f}x opencv 1 core); "
              f"vs opencv: {format_agreement(agreement(reference[: len(flow)], flow))}")


def make_frames(root, videos, frames, width, height):
    for v in range(videos):
        folder = root / "bench" / f"video_{v:02d}"
        folder.mkdir(parents=True)
        for k, grey in enumerate(shifted_sequence(height, width, dx=2, dy=1, n=frames, seed=v), 1):
            cv2.imwrite(str(folder / f"image_{k:05d}.jpg"), cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))


def timed_run(rgb, flow, n_jobs):
    shutil.rmtree(flow, ignore_errors=True)
    start = time.perf_counter()
    summary = convert_rgb_to_flow(rgb, flow, n_jobs=n_jobs)
    elapsed = time.perf_counter() - start
    if summary.failures:
        raise SystemExit(f"flow failed: {summary.failures}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n_jobs", type=int, default=default_jobs())
    parser.add_argument("--videos", type=int, default=None, help="default: 2 per worker")
    parser.add_argument("--frames", type=int, default=6, help="frames per video (pairs = frames - 1)")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--rgb_path", help="bench on these real frame folders instead (<root>/<class>/<video>)")
    parser.add_argument("--pairs", type=int, default=4, help="distinct real pairs of the kernel bench (at most 64)")
    parser.add_argument("--cpu_batches", type=lambda t: [int(b) for b in t.split(",") if b], default=[4],
                        help="torch-on-CPU batch sizes, comma-separated (empty: none)")
    parser.add_argument("--gpu_batches", type=lambda t: [int(b) for b in t.split(",") if b], default=[16, 64, 256])
    parser.add_argument("--skip_end_to_end", action="store_true", help="only the kernel bench")
    args = parser.parse_args()
    kernel_bench(args)
    if args.skip_end_to_end:
        return
    print("== convert_rgb_to_flow end to end (OpenCV backend)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rgb = Path(args.rgb_path) if args.rgb_path else tmp / "rgb"
        if not args.rgb_path:
            make_frames(rgb, args.videos or 2 * args.n_jobs, args.frames, args.width, args.height)
        counts = [len(rgb_frame_paths(p)) for p in sorted(rgb.glob("*/*")) if p.is_dir()]
        pairs = sum(max(n - 1, 0) for n in counts)
        size = "x".join(map(str, cv2.imread(str(rgb_frame_paths(next(p for p in sorted(rgb.glob("*/*"))))[0])).shape[1::-1]))
        print(f"{len(counts)} videos, {pairs} frame pairs at {size}; {default_jobs()} CPUs usable, "
              f"load average {os.getloadavg()[0]:.2f} before the run")
        one = timed_run(rgb, tmp / "flow", 1)
        many = timed_run(rgb, tmp / "flow", args.n_jobs)
    rate1, rate_n = pairs / one, pairs / many
    print(f"1 worker : {rate1:.3f} pairs/s ({one / pairs:.2f} s per pair, {one:.1f} s)")
    print(f"{args.n_jobs} workers: {rate_n:.3f} pairs/s ({many:.1f} s, pool start-up included)")
    print(f"speed-up {rate_n / rate1:.2f}x on {args.n_jobs} workers, scaling efficiency {rate_n / rate1 / args.n_jobs:.0%}")


if __name__ == "__main__":
    main()
