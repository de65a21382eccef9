"""Real media with known content for the preprocessing tests and benches: videos written with
cv2.VideoWriter (saturated red/blue halves and a moving disc) and textured frames with a known shift.
"""
from pathlib import Path

import cv2
import numpy as np

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def moving_disc_frames(width, height, n, radius=None):
    """n RGB frames: left half red, right half blue, a white disc moving left to right along the middle."""
    radius = radius or max(2, min(width, height) // 8)
    for i in range(n):
        frame = np.empty((height, width, 3), np.uint8)
        frame[:, : width // 2] = RED
        frame[:, width // 2:] = BLUE
        x = radius + (width - 2 * radius) * i // max(n - 1, 1)
        cv2.circle(frame, (x, height // 2), radius, (255, 255, 255), -1)
        yield frame


def write_video(path, frames, fps=25, fourcc="MJPG"):
    """Write RGB frames to a video file (cv2 wants BGR); returns the number written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    count = 0
    try:
        for rgb in frames:
            if writer is None:
                h, w = rgb.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
                if not writer.isOpened():
                    raise OSError(f"{path}: cv2.VideoWriter cannot write {fourcc}")
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            count += 1
    finally:
        if writer is not None:
            writer.release()
    return count


def texture(height, width, seed=0, blur=2.0):
    """Smooth random grey texture (uint8): enough structure everywhere for optical flow to lock on."""
    noise = np.random.default_rng(seed).random((height, width)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), blur)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return (smooth * 255).round().astype(np.uint8)


def shifted_sequence(height, width, dx, dy, n, seed=0):
    """n grey frames of one texture, each moved by (dx, dy) pixels (x right, y down) from the one before."""
    margin = (n - 1) * max(abs(dx), abs(dy)) + 1
    canvas = texture(height + 2 * margin, width + 2 * margin, seed)
    return [canvas[margin - k * dy: margin - k * dy + height, margin - k * dx: margin - k * dx + width]
            for k in range(n)]
