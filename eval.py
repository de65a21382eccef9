"""Evaluate I3D checkpoints on the test split: --test_mode rgb, flow or joint (late fusion).

    python eval.py --dataset hmdb51 --video_path DIR --annotation_path JSON --rgb_path CKPT --test_mode rgb
See README, "Evaluation".
"""
import sys

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.train.config import eval_parser, parse_with_config
from src.evaluate.eval_run import main

if __name__ == "__main__":
    sys.exit(main(parse_with_config(eval_parser())))
