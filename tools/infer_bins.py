"""Run an exported MINDIR on preprocess.py's batch files (the step the original did on an Ascend 310).

    python tools/infer_bins.py --mindir_path i3d.mindir --input0_path preprocess_Result/data/hmdb51/rgb [--result_path ./result_Files]
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.deploy.bin_files import infer_bins  # noqa: E402
from src.common.atomic import refuse_overlap  # noqa: E402
from src.common.errors import run_command  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mindir_path", required=True)
    p.add_argument("--input0_path", required=True, help="folder of <dataset>_bs<mode>_<i>.bin")
    p.add_argument("--result_path", default="./result_Files")
    args = p.parse_args(argv)
    refuse_overlap([("--mindir_path", args.mindir_path), ("--input0_path", args.input0_path)],
                   [("--result_path", args.result_path)])
    n = infer_bins(args.mindir_path, args.input0_path, args.result_path)
    print(f"inferred {n} batches -> {args.result_path}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("infer_bins", main))
