"""Write tests/data/tvl1_pairs_320x240.npz: consecutive real frames and OpenCV's TV-L1 flow of each pair.

The GPU check (scripts/check_flow_gpu.sh), the sync bench and the tests compare the torch TV-L1 with
this reference where OpenCV's contrib module is absent. The frames are the clip's grey frames at their
stored size, upscaled to 320x240 by src/prep/flow_pairs.upscale_linear (what every reader rebuilds);
flow is OpenCV's DualTVL1 (defaults, one thread) of those 320x240 pairs, stored in 1/128 px steps.
Run from the repository root: python bench/make_flow_reference.py VIDEO_OR_GIF [--pairs 64] [--start 7]
"""
import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.data.media import read_frames  # noqa: E402
from src.prep.flow_pairs import save_pairs, upscale_linear  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "tvl1_pairs_320x240.npz"
SIZE = (240, 320)
FLOW_STEP = 1 / 128


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", help="a video file or GIF with real motion")
    parser.add_argument("--pairs", type=int, default=64, help="consecutive pairs (frames k -> k+1)")
    parser.add_argument("--start", type=int, default=7, help="first frame used")
    args = parser.parse_args()
    grey = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in read_frames(args.video)])
    frames = grey[args.start: args.start + args.pairs + 1]
    if len(frames) < args.pairs + 1:
        raise SystemExit(f"{args.video} has {len(grey)} frames: not {args.pairs} pairs from frame {args.start}")
    big = upscale_linear(frames, *SIZE)
    cv2.setNumThreads(1)
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    flow, start = [], time.perf_counter()
    for k in range(args.pairs):
        flow.append(tvl1.calc(big[k], big[k + 1], None))
        print(f"\rOpenCV TV-L1: {k + 1}/{args.pairs} pairs, {time.perf_counter() - start:.0f} s", end="", flush=True)
    print()
    save_pairs(OUT, frames, SIZE, np.stack(flow), FLOW_STEP, source=Path(args.video).name,
               frames_used=f"{args.start}..{args.start + args.pairs}", made_by="bench/make_flow_reference.py")
    print(f"{OUT}: {args.pairs} pairs (frames {args.start}..{args.start + args.pairs} of {Path(args.video).name}, "
          f"stored {frames.shape[2]}x{frames.shape[1]}, upscaled to {SIZE[1]}x{SIZE[0]}), {OUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
