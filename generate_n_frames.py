"""Write `n_frames` in every ROOT/<class>/<video> folder: `python generate_n_frames.py ROOT` (rgb or flow tree)."""
import argparse
import sys

from src.prep.jobs import add_jobs_arg, run_cli
from src.prep.n_frames import generate_n_frames


def main(argv=None):
    parser = argparse.ArgumentParser(description="Count the rgb or flow frames of every ROOT/<class>/<video> "
                                     "folder and write n_frames (folders already right are left alone).")
    parser.add_argument("root", help="an rgb or a flow frame tree")
    add_jobs_arg(parser)
    args = parser.parse_args(argv)
    return generate_n_frames(args.root, n_jobs=args.n_jobs).report()


if __name__ == "__main__":
    sys.exit(run_cli(main))
