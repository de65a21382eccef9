"""Frame extraction throughput of generate_rgb_jpgs: video frames decoded + resized + written per second.

Prints figures and ratios from one run (not a test): the bare OpenCV decode rate of the same videos,
the tool with 1 worker and with N. Videos are written here with cv2.VideoWriter (--fourcc, 320x240 like
UCF101/HMDB51). Run from the repository root: python bench/bench_frames.py [--n_jobs N]
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.prep.jobs import default_jobs  # noqa: E402
from src.prep.frames import generate_rgb_jpgs  # noqa: E402
from tests.fixtures.media import moving_disc_frames, write_video  # noqa: E402
from src.data.media import iter_video_frames  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n_jobs", type=int, default=default_jobs())
    parser.add_argument("--videos", type=int, default=None, help="default: 4 per worker")
    parser.add_argument("--frames", type=int, default=400, help="frames per video")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--size", type=int, default=240, help="the tool's --size (short side)")
    parser.add_argument("--fourcc", default="XVID", help="codec of the bench videos (HMDB51/UCF101 are XviD/DivX)")
    args = parser.parse_args()
    n_videos = args.videos or 4 * args.n_jobs
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "videos"
        videos = [src / "bench" / f"video_{v:02d}.avi" for v in range(n_videos)]
        for path in videos:
            write_video(path, moving_disc_frames(args.width, args.height, args.frames), fourcc=args.fourcc)
        total = n_videos * args.frames
        print(f"{n_videos} {args.fourcc} videos x {args.frames} frames at {args.width}x{args.height} -> short side "
              f"{args.size}; {default_jobs()} CPUs usable, load average {os.getloadavg()[0]:.2f} before the run")
        decode, _ = timed(lambda: sum(1 for p in videos for _ in iter_video_frames(p)))
        rates = {}
        for jobs in (1, args.n_jobs):
            elapsed, summary = timed(lambda: generate_rgb_jpgs(src, Path(tmp) / f"jpg{jobs}", n_jobs=jobs, size=args.size))
            if summary.failures or summary.done != n_videos:
                raise SystemExit(f"extraction failed: {summary.failures}")
            rates[jobs] = total / elapsed
    print(f"decode only (1 process) : {total / decode:.0f} frames/s")
    print(f"tool, 1 worker          : {rates[1]:.0f} frames/s ({rates[1] * decode / total:.0%} of the bare decode rate)")
    print(f"tool, {args.n_jobs} workers         : {rates[args.n_jobs]:.0f} frames/s (pool start-up included)")
    print(f"speed-up {rates[args.n_jobs] / rates[1]:.2f}x on {args.n_jobs} workers, "
          f"scaling efficiency {rates[args.n_jobs] / rates[1] / args.n_jobs:.0%}")


if __name__ == "__main__":
    main()
