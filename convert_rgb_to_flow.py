"""RGB frame folders -> TV-L1 flow folders: `python convert_rgb_to_flow.py --rgb_path=RGB --flow_path=FLOW`."""
import argparse
import sys

from src.prep.jobs import add_jobs_arg, run_cli
from src.layout import FLOW_BOUND
from src.prep.flow import convert_rgb_to_flow, estimate
from src.flag_types import positive_float


def main(argv=None):
    parser = argparse.ArgumentParser(description="TV-L1 optical flow of every RGB/<class>/<video> frame folder "
                                     "into FLOW/<class>/<video>/image_%05dx.jpg, image_%05dy.jpg (resumable).")
    parser.add_argument("--rgb_path", required=True, help="frame folders from generate_rgb_jpgs")
    parser.add_argument("--flow_path", required=True, help="flow folders are written here")
    add_jobs_arg(parser)
    parser.add_argument("--bound", type=positive_float, default=FLOW_BOUND, help="flow is clipped to +-bound pixels")
    parser.add_argument("--estimate", "--dry_run", dest="estimate", action="store_true",
                        help="print the frame pairs to do and the projected time, write nothing")
    args = parser.parse_args(argv)
    if args.estimate:
        return estimate(args.rgb_path, args.flow_path, n_jobs=args.n_jobs, bound=args.bound)
    return convert_rgb_to_flow(args.rgb_path, args.flow_path, n_jobs=args.n_jobs, bound=args.bound).report()


if __name__ == "__main__":
    sys.exit(run_cli(main))
