"""The input video with its predictions drawn on it: every frame shows the top-1 class and score of the
window that stands for it (nearest centre, Timeline.frame_window) and a small bar chart of the top 3.

Written with OpenCV at the input's frame rate and size (a GIF or frame folder: 25 fps), under a
temporary name, then renamed.
"""
from pathlib import Path

import cv2
import numpy as np

from src.common.atomic import atomic_output
from src.common.errors import UserError
from src.infer.timeline import class_name
from src.data.media import GIF_SUFFIXES, iter_frames

FOURCC = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}
VIDEO_SUFFIXES = tuple(FOURCC)
DEFAULT_FPS = 25.0


def input_fps(path):
    """The input's frame rate: the container's, else 25 (GIFs and frame folders)."""
    path = Path(path)
    if path.is_dir() or path.suffix.lower() in GIF_SUFFIXES:
        return DEFAULT_FPS
    cap = cv2.VideoCapture(str(path))
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()
    return fps if 0 < fps < 1000 else DEFAULT_FPS


def _text(image, text, origin, scale, colour=(255, 255, 255), thickness=1):
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)


def draw_prediction(bgr, probs, labels, top=3):
    """Draw the top-1 label and score and a bar per top class on a BGR frame (in place)."""
    h, w = bgr.shape[:2]
    scale = max(0.35, min(w, 2 * h) / 900)
    line = int(round(28 * scale)) + 4
    order = np.argsort(-probs, kind="stable")[:top]
    panel_w = min(w, int(330 * scale) + 20)
    panel_h = min(h, line * (top + 1) + 10)
    shade = bgr[:panel_h, :panel_w]
    shade[:] = (shade * 0.45).astype(np.uint8)  # a dark panel keeps the text readable on any footage
    best = order[0]
    _text(bgr, f"{class_name(labels, best)} {probs[best]:.2f}", (6, line), scale * 1.1, (80, 255, 255),
          max(1, int(round(scale * 2))))
    bar_w = panel_w - 12
    for rank, c in enumerate(order):
        y = line * (rank + 1) + 8
        x1 = 6 + int(round(bar_w * float(probs[c])))
        cv2.rectangle(bgr, (6, y), (max(7, x1), y + line - 6), (60, 170, 60), -1)
        _text(bgr, f"{class_name(labels, c)} {probs[c]:.2f}", (10, y + line - 10), scale * 0.75)
    return bgr


def write_annotated(src, dst, timeline, n_frames, allow_truncated=False):
    """Write the first `n_frames` frames of `src` (the frames the timeline was made from) with the
    timeline's predictions drawn on them to `dst`; returns the frame count written."""
    dst = Path(dst)
    fourcc = FOURCC.get(dst.suffix.lower())
    if fourcc is None:
        raise UserError(f"--out_video {dst}: the file name must end in one of {', '.join(VIDEO_SUFFIXES)}")
    which = timeline.frame_window(n_frames)
    written, writer = 0, None
    with atomic_output(dst, suffix=dst.suffix) as tmp:
        try:
            for index, rgb in zip(range(n_frames), iter_frames(src, allow_truncated)):
                if writer is None:
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*fourcc), input_fps(src),
                                             (rgb.shape[1], rgb.shape[0]))
                    if not writer.isOpened():
                        raise UserError(f"--out_video {dst}: OpenCV cannot write a {fourcc} video here")
                bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
                writer.write(draw_prediction(bgr, timeline.probs[which[index]], timeline.labels))
                written += 1
        finally:
            if writer is not None:
                writer.release()
    return written
