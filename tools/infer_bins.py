"""Run an exported MINDIR on preprocess.py's batch files (the step the original did on an Ascend 310).

    python infer_bins.py --mindir_path i3d.mindir --input0_path preprocess_Result/data/hmdb51/rgb [--result_path ./result_Files]
"""
import argparse
import sys

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.deploy.bin_files import infer_bins
from src.common.errors import run_command


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mindir_path", required=True)
    p.add_argument("--input0_path", required=True, help="folder of <dataset>_bs<mode>_<i>.bin")
    p.add_argument("--result_path", default="./result_Files")
    args = p.parse_args(argv)
    n = infer_bins(args.mindir_path, args.input0_path, args.result_path)
    print(f"inferred {n} batches -> {args.result_path}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("infer_bins", main))
