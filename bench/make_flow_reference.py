"""Write tests/data/tvl1_pairs_320x240.npz: real grey frame pairs and OpenCV's TV-L1 flow for them.

The GPU check (scripts/check_flow_gpu.sh) and the tests compare the torch TV-L1 with this reference
where OpenCV's contrib module is absent. Flow is stored in 1/256 px steps (int16), frames as uint8.
Run from the repository root: python bench/make_flow_reference.py VIDEO_OR_GIF [--pairs 4]
"""
import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.data.media import read_frames  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "tvl1_pairs_320x240.npz"
FLOW_STEP = 1 / 256


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", help="a video file or GIF with real motion")
    parser.add_argument("--pairs", type=int, default=4)
    args = parser.parse_args()
    grey = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (320, 240), interpolation=cv2.INTER_LINEAR)
            for f in read_frames(args.video)]
    starts = np.linspace(0, len(grey) - 2, args.pairs + 2).astype(int)[1:-1]  # spread over the video
    first = np.stack([grey[k] for k in starts])
    second = np.stack([grey[k + 1] for k in starts])
    cv2.setNumThreads(1)
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    flow = np.stack([tvl1.calc(a, b, None) for a, b in zip(first, second)])
    np.savez_compressed(OUT, first=first, second=second, flow=np.round(flow / FLOW_STEP).astype(np.int16),
                        flow_step=np.float32(FLOW_STEP), source=str(Path(args.video).name), starts=starts)
    print(f"{OUT}: {len(starts)} pairs (frames {starts.tolist()} -> +1), {OUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
