"""Videos -> RGB JPEG frame folders: `python -m generate_rgb_jpgs SRC_DIR DST_DIR hmdb51|ucf101`."""
import argparse
import sys

from src.prep.jobs import add_jobs_arg, run_cli
from src.data import datasets
from src.prep.frames import JPEG_QUALITY, generate_rgb_jpgs
from src.common.flag_types import frame_rate, jpeg_quality, positive_int


def main(argv=None):
    parser = argparse.ArgumentParser(description="Decode every SRC_DIR/<class>/<video> into "
                                     "DST_DIR/<class>/<video>/image_00001.jpg ... plus n_frames (resumable).")
    parser.add_argument("dir_path", help="videos: <dir_path>/<class>/<video>.<ext>")
    parser.add_argument("dst_path", help="frame folders are written here")
    parser.add_argument("dataset", choices=datasets.NAMES, help="sets the default --ext")
    add_jobs_arg(parser)
    parser.add_argument("--size", type=positive_int, default=240, help="short side of the stored frames (aspect kept)")
    parser.add_argument("--ext", default=None, help="video file extension (default: avi for both datasets)")
    parser.add_argument("--fps", type=frame_rate, default=-1,
                        help="resample to this frame rate (nearest frame repeated or dropped); -1 keeps the video's")
    parser.add_argument("--quality", type=jpeg_quality, default=JPEG_QUALITY, help="JPEG quality")
    parser.add_argument("--allow_truncated", action="store_true",
                        help="keep the decodable frames of a video that has fewer than its header declares")
    args = parser.parse_args(argv)
    summary = generate_rgb_jpgs(args.dir_path, args.dst_path, args.ext or datasets.get(args.dataset).video_ext,
                                n_jobs=args.n_jobs, size=args.size, quality=args.quality,
                                allow_truncated=args.allow_truncated, fps=args.fps)
    return summary.report()


if __name__ == "__main__":
    sys.exit(run_cli(main))
