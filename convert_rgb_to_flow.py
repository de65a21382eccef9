"""RGB frame folders -> TV-L1 flow folders: `python convert_rgb_to_flow.py --rgb_path=RGB --flow_path=FLOW`."""
import argparse
import sys

from src.common.flag_types import positive_float, positive_int
from src.data.layout import FLOW_BOUND
from src.prep.flow import BACKENDS, convert_rgb_to_flow, estimate, parse_shard, resolve_backend
from src.prep.jobs import add_jobs_arg, run_cli


def main(argv=None):
    parser = argparse.ArgumentParser(description="TV-L1 optical flow of every RGB/<class>/<video> frame folder "
                                     "into FLOW/<class>/<video>/image_%05dx.jpg, image_%05dy.jpg (resumable).")
    parser.add_argument("--rgb_path", required=True, help="frame folders from generate_rgb_jpgs")
    parser.add_argument("--flow_path", required=True, help="flow folders are written here")
    add_jobs_arg(parser)
    parser.add_argument("--bound", type=positive_float, default=FLOW_BOUND, help="flow is clipped to +-bound pixels")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="opencv: OpenCV's TV-L1, one process per core; torch: ours (same flow) on --device; "
                             "auto (default): torch when torch sees a GPU, else opencv")
    parser.add_argument("--device", help="torch backend: cpu (--n_jobs single-threaded workers), cuda, cuda:N "
                                         "or several, e.g. cuda:0,cuda:1 (default: cuda when visible, else cpu)")
    parser.add_argument("--batch_pairs", type=positive_int, help="torch backend: frame pairs computed together at "
                                                                 "each pyramid scale, refilled as pairs finish "
                                                                 "(default 64 on a GPU, 8 on the CPU)")
    parser.add_argument("--shard", help="K/N: do only the K-th of N disjoint parts of the video list "
                                        "(N machines, e.g. a cluster job array)")
    parser.add_argument("--estimate", "--dry_run", dest="estimate", action="store_true",
                        help="print the frame pairs to do and the projected time, write nothing")
    args = parser.parse_args(argv)
    backend = resolve_backend(args.backend, args.device, args.batch_pairs)
    shard = parse_shard(args.shard)
    options = dict(n_jobs=args.n_jobs, bound=args.bound, backend=backend, shard=shard)
    if args.estimate:
        return estimate(args.rgb_path, args.flow_path, **options)
    return convert_rgb_to_flow(args.rgb_path, args.flow_path, **options).report()


if __name__ == "__main__":
    sys.exit(run_cli(main))
