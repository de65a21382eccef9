"""Per-video I3D features: `python extract_features.py INPUT OUT --checkpoint CKPT [--endpoint Mixed_5c] [--window 16]`,
or both streams in one pass from video files: `... --ext mp4 --rgb_checkpoint A --flow_checkpoint B --window 16 --stride 4`."""
import sys

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.infer.extract import main

if __name__ == "__main__":
    sys.exit(main())
