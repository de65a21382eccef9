"""Join clips end to end into one square video: `python tools/join_videos.py OUT.mp4 CLIP [CLIP ...] [--size 256]`.

A long input for `predict.py --window` made of short real clips (see docs/long_videos.md)."""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.data.video_join import join_videos  # noqa: E402
from src.common.errors import run_command  # noqa: E402
from src.common.flag_types import positive_float, positive_int  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", help="video to write (.mp4 or .avi)")
    p.add_argument("clips", nargs="+", help="videos, GIFs or frame folders, in order")
    p.add_argument("--size", type=positive_int, default=256, help="side of the square output frames")
    p.add_argument("--fps", type=positive_float, default=25.0)
    args = p.parse_args(argv)
    for clip, n in join_videos(args.out, args.clips, args.size, args.fps):
        print(f"{n:5d} frames  {clip}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("join_videos", main))
