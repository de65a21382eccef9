"""Top-k predictions of an I3D checkpoint or exported MINDIR for one video, GIF, frame folder or .npy clip,
or of both streams for a raw video (rgb frames and TV-L1 flow made on the fly, as the data tools make them);
with --window, per window over a long video: a timeline (CSV + picture) and an annotated video.

    python predict.py INPUT (--checkpoint CKPT | --mindir FILE.mindir) [--mode rgb|flow] [--labels FILE]
                      [--top_k 5] [--num_frames N] [--save_logits OUT.npy]
    python predict.py VIDEO --rgb_checkpoint A --flow_checkpoint B [--size 240] [--crop 224] [--bound 20] ...
    python predict.py VIDEO --checkpoint CKPT --window 32 --stride 8 --timeline OUT.csv [--out_video OUT.mp4]

A checkpoint's record gives the stream, network (--arch, --head), class names, and where it records
them the crop and clip length; flags given must agree.

A MINDIR (export.py) has a fixed clip shape: longer clips are cut to its first T frames, shorter
ones and other frame sizes (set --crop to the exported --spatial_size) are an error.
"""
import sys

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.infer.predict import main

if __name__ == "__main__":
    sys.exit(main(None, __doc__))
