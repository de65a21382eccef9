"""Clips (videos, GIFs, frame folders) joined end to end into one video: a long test input made of short
real clips, for predict.py --window. Each frame is scaled to cover a square of `size` and centre-cropped,
so that clips of any shape line up; written with OpenCV under a temporary name, then renamed."""
from pathlib import Path

import cv2

from src.common.atomic import atomic_output
from src.common.errors import UserError
from src.data.loader.spatial_transforms import center_plan
from src.data.media import iter_frames, resize_short_side

FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}


def join_videos(out, clips, size=256, fps=25.0):
    """Write `clips` one after the other to `out` (.mp4 or .avi) at size x size and `fps`; returns
    [(clip, frames)]."""
    out = Path(out)
    if out.suffix.lower() not in FOURCC:
        raise UserError(f"{out}: the output must end in .mp4 or .avi")
    counts = []
    with atomic_output(out, suffix=out.suffix) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*FOURCC[out.suffix.lower()]), fps, (size, size))
        try:
            for clip in clips:
                n = 0
                for n, rgb in enumerate(iter_frames(clip), 1):
                    frame = resize_short_side(rgb, size)
                    frame = center_plan(*frame.shape[:2], size, clip).apply(frame)
                    writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
                counts.append((str(clip), n))
        finally:
            writer.release()
    return counts
