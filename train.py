"""Fine-tune (or train) I3D on HMDB51/UCF101 frames in rgb or flow mode. See README, "Training".

    python train.py --dataset hmdb51 --mode rgb --video_path DIR --annotation_path JSON \
                    --checkpoint_path k400.ckpt [--num_epochs 40] [--resume]
"""
import sys

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.train.config import parse_with_config, structural_flags, train_parser
from src.train.trainer import main

if __name__ == "__main__":
    parser = train_parser()
    sys.exit(main(parse_with_config(parser), structural_flags(parser)))
