"""Write the eval clips and labels as the binary batch files of the original's Ascend-310 path.

    python preprocess.py --dataset hmdb51 --mode rgb --video_path DIR --annotation_path JSON [--batch_size 8]
                         [--test_sample_duration 64] [--spatial_size 224] [--result_path ./preprocess_Result]
Then tools/infer_bins.py runs an exported MINDIR on them and postprocess.py prints the accuracy (docs/export.md).
"""
import argparse
import sys

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.data import datasets
from src.deploy.bin_files import write_eval_bins
from src.common.atomic import refuse_overlap
from src.common.errors import run_command
from src.common.flag_types import non_negative_int, positive_int
from src.data.layout import MODES
from src.data.loader.clip_dataset import ClipDataset
from src.data.loader.index import SUBSET_ALIASES


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, choices=datasets.NAMES)
    p.add_argument("--mode", required=True, choices=MODES)
    p.add_argument("--video_path", required=True)
    p.add_argument("--annotation_path", required=True)
    p.add_argument("--batch_size", type=positive_int, default=8)
    p.add_argument("--test_sample_duration", type=non_negative_int, default=64)
    p.add_argument("--spatial_size", type=positive_int, default=224)
    p.add_argument("--subset", default="validation", choices=tuple(SUBSET_ALIASES),
                   help="validation (= the official test split; val, test, testing) or training (train)")
    p.add_argument("--result_path", default="./preprocess_Result")
    args = p.parse_args(argv)
    refuse_overlap([("--video_path", args.video_path), ("--annotation_path", args.annotation_path)],
                   [("--result_path", args.result_path)])
    source = ClipDataset(args.video_path, args.annotation_path, args.mode, args.subset, False,
                         args.test_sample_duration, args.spatial_size)
    n = write_eval_bins(source, args.dataset, args.mode, args.batch_size, args.result_path)
    print(f"wrote {n} batches of {len(source)} {args.subset} clips under {args.result_path}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("preprocess", main))
