"""Annotation JSON for your own videos: a folder per class, split lists or a seeded train/validation ratio.

    python tools/make_split_json.py JPG_DIR DST.json --train_list train.txt --test_list test.txt
    python tools/make_split_json.py JPG_DIR DST.json --val_ratio 0.3 [--seed 0]

List lines are `<class>/<video>` (an extension and extra columns are ignored). The JSON has the same
schema as hmdb51_json/ucf101_json write; train.py, eval.py and predict.py take its class count.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

from src.prep.annotations import write_custom_json  # noqa: E402
from src.prep.jobs import run_cli  # noqa: E402
from src.common.flag_types import fraction, seed_value  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("jpg_dir", help="rgb frame folders <jpg_dir>/<class>/<video> (from generate_rgb_jpgs.py)")
    p.add_argument("dst", help="the annotation JSON to write")
    p.add_argument("--train_list", help="training videos, one <class>/<video> per line")
    p.add_argument("--test_list", help="test videos, one <class>/<video> per line")
    p.add_argument("--val_ratio", type=fraction, help="instead of lists: this fraction of each class for validation")
    p.add_argument("--seed", type=seed_value, default=0, help="the draw of --val_ratio")
    args = p.parse_args(argv)
    return write_custom_json(args.jpg_dir, args.dst, args.train_list, args.test_list, args.val_ratio, args.seed)


if __name__ == "__main__":
    sys.exit(run_cli(main))
