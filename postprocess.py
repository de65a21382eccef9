"""Accuracy of the inferred batch files against preprocess.py's labels (the original's 310 postprocess).

    python postprocess.py --dataset hmdb51 --mode rgb --num-classes 51 --batch-size 8 --label-path LABELS.npy
                          [--result_path ./result_Files]
"""
import argparse
import sys

from src.deploy.bin_files import accuracy_lines
from src.common.errors import run_command
from src.common.flag_types import positive_int


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True)
    p.add_argument("--mode", required=True)
    p.add_argument("--num-classes", type=positive_int, required=True)
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--label-path", required=True)
    p.add_argument("--result_path", default="./result_Files", help="the inference step's output folder")
    args = p.parse_args(argv)
    for line in accuracy_lines(args.result_path, args.label_path, args.dataset, args.mode, args.num_classes,
                               args.batch_size):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(run_command("postprocess", main))
