"""TV-L1 flow throughput of convert_rgb_to_flow: frame pairs/s with 1 worker and with N, on the same frames.

Prints figures and ratios from one run (not a test). Frames are a smooth texture moving 2 px per frame,
written as JPEG at --width x --height (UCF101/HMDB51 frames are 320x240), or real frames via --rgb_path.
Run from the repository root: python bench/bench_flow.py [--n_jobs N]
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

from src.prep.jobs import default_jobs  # noqa: E402
from src.prep.flow import convert_rgb_to_flow  # noqa: E402
from src.prep.synthetic_media import shifted_sequence  # noqa: E402
from src.layout import rgb_frame_paths  # noqa: E402


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
    args = parser.parse_args()
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
