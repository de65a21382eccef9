"""HMDB51 or UCF101 from the official downloads to frames, flow and split JSON: see docs/datasets.md.

    python prepare_dataset.py hmdb51|ucf101 RAW_DIR [OUT_ROOT] [--n_jobs N] [--dry_run] [--no_flow]
                              [--flow_backend auto|opencv|torch] [--flow_device cuda:0]
"""
import argparse
import sys

from src.data import datasets
from src.common.errors import UserError
from src.prep.dataset_prep import prepare
from src.prep.flow import BACKENDS, resolve_backend
from src.prep.jobs import add_jobs_arg, run_cli
from src.common.flag_types import positive_int


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", choices=datasets.OFFICIAL)
    p.add_argument("raw_dir", help="the folder with the downloaded archives (or their unpacked contents)")
    p.add_argument("out_root", nargs="?", default="./datasets", help="where rgb/, flow/ and raw/ go (default ./datasets)")
    add_jobs_arg(p)
    p.add_argument("--size", type=positive_int, default=240, help="short side of the stored frames")
    p.add_argument("--no_flow", action="store_true", help="frames and JSON only")
    p.add_argument("--flow_backend", default=None, choices=BACKENDS, help="passed to convert_rgb_to_flow.py --backend")
    p.add_argument("--flow_device", default=None, help="passed to convert_rgb_to_flow.py --device")
    p.add_argument("--dry_run", action="store_true", help="print what was found, the steps and the projected time")
    args = p.parse_args(argv)
    if not args.no_flow:  # checked now, not after hours of frames
        try:
            resolve_backend(args.flow_backend or "auto", args.flow_device)
        except ValueError as exc:
            raise UserError(f"--flow_backend/--flow_device: {exc}") from None
    flow_args = [f"--{k}={v}" for k, v in (("backend", args.flow_backend), ("device", args.flow_device)) if v]
    return prepare(args.dataset, args.raw_dir, args.out_root, n_jobs=args.n_jobs, size=args.size,
                   flow=not args.no_flow, flow_args=flow_args, dry_run=args.dry_run)


if __name__ == "__main__":
    sys.exit(run_cli(main))
