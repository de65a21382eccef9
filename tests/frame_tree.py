"""Write small real frame trees (JPEGs, n_frames, annotation JSON) for the loader tests."""
import json
from pathlib import Path

import cv2
import numpy as np


def write_rgb_video(root, label, key, frames, n_frames_text=None):
    """frames: RGB uint8 (H, W, 3) arrays, written as image_00001.jpg ... plus n_frames."""
    folder = Path(root) / label / key
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames, 1):
        cv2.imwrite(str(folder / f"image_{i:05d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 100])
    (folder / "n_frames").write_text(n_frames_text if n_frames_text is not None else str(len(frames)))
    return folder


def write_flow_video(root, label, key, xs, ys):
    """xs, ys: uint8 (H, W) arrays, written as image_%05dx.jpg / image_%05dy.jpg plus n_frames."""
    folder = Path(root) / label / key
    folder.mkdir(parents=True, exist_ok=True)
    for i, (x, y) in enumerate(zip(xs, ys), 1):
        cv2.imwrite(str(folder / f"image_{i:05d}x.jpg"), x, [cv2.IMWRITE_JPEG_QUALITY, 100])
        cv2.imwrite(str(folder / f"image_{i:05d}y.jpg"), y, [cv2.IMWRITE_JPEG_QUALITY, 100])
    (folder / "n_frames").write_text(str(len(xs)))
    return folder


def write_annotation(path, labels, videos):
    """videos: (key, label, subset) triples -> the original's JSON schema."""
    database = {key: {"subset": subset, "annotations": {"label": label, "segment": [1, 2]}}
                for key, label, subset in videos}
    Path(path).write_text(json.dumps({"labels": list(labels), "database": database}))
    return Path(path)


def numbered_frames(n, height=32, width=40, video=0):
    """Flat grey frames of level 10 * index + video (index 1-based), to read clips back to their source."""
    return [np.full((height, width, 3), 10 * i + video, dtype=np.uint8) for i in range(1, n + 1)]


def frame_levels(clip):
    """The grey level of each frame of a (C, T, H, W) clip: uint8 as read, or float in [-1, 1] (scaled)."""
    if clip.dtype == np.uint8:
        return clip[0, :, 0, 0].astype(int)
    return np.rint((clip[0, :, 0, 0] + 1) * 127.5).astype(int)


def make_tree(root, n_videos=4, n_frames=6, labels=("a", "b"), subset="training", height=32, width=40):
    """A tree of numbered-frame rgb videos (up to 10, up to 24 frames) alternating over `labels`; returns the JSON path."""
    root = Path(root)
    videos = []
    for v in range(n_videos):
        label = labels[v % len(labels)]
        key = f"vid{v:02d}"
        write_rgb_video(root / "jpg", label, key, numbered_frames(n_frames, height, width, video=v))
        videos.append((key, label, subset))
    return write_annotation(root / "ann.json", labels, videos)
