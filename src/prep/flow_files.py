"""How a video's flow is stored and how its grey frames are read: shared by both TV-L1 backends
(src/prep/flow.py runs OpenCV's, src/prep/flow_torch.py the torch one) and by raw-video predict.

Each component is clipped to +-bound and stored as a uint8 JPEG: round((f + bound) * 255 / (2 bound)),
`image_%05dx.jpg` (horizontal) and `image_%05dy.jpg` (vertical), as the original's loader expects.
"""
from pathlib import Path

import cv2
import numpy as np

from src.common.errors import VideoReadError
from src.data.layout import contiguous_rgb_frames, flow_names, quantise_flow
from src.data.media import decode_image


def read_gray(path):
    """A frame as grey uint8; an empty, undecodable or truncated JPEG is an error naming the file."""
    return decode_image(path, cv2.IMREAD_GRAYSCALE)


def encode_flow(flow, bound):
    """The two JPEG byte strings (x, y) of one flow field."""
    q = quantise_flow(flow, bound)
    encoded = []
    for c in (0, 1):
        ok, buf = cv2.imencode(".jpg", q[..., c])
        if not ok:
            raise OSError("cv2.imencode failed on a flow frame")
        encoded.append(buf.tobytes())
    return encoded


def write_encoded(folder, k, encoded):
    for name, data in zip(flow_names(k), encoded):
        (Path(folder) / name).write_bytes(data)


def write_flow(folder, k, flow, bound):
    write_encoded(folder, k, encode_flow(flow, bound))


def same_size(path, cur, prev):
    if cur.shape != prev.shape:
        raise VideoReadError(path, f"frame size {cur.shape[::-1]} differs from the previous frame's {prev.shape[::-1]}")
    return cur


def frame_pairs(paths):
    """Yield (k, frame k, frame k+1) as grayscale, reading each JPEG once; sizes must agree."""
    prev = read_gray(paths[0])
    for k, path in enumerate(paths[1:], 1):
        cur = same_size(path, read_gray(path), prev)
        yield k, prev, cur
        prev = cur


def read_video_gray(rgb_dir, max_frames=None):
    """Every frame of a frame folder as grey uint8, checked as compute_flow checks them (the torch backend
    decodes whole videos ahead of the device)."""
    paths = contiguous_rgb_frames(rgb_dir)[:max_frames]
    frames = [read_gray(paths[0])]
    frames.extend(same_size(path, read_gray(path), frames[0]) for path in paths[1:])
    return frames


def flow_file_numbers(k, n):
    """Flow frame k of an n-frame video is also stored as frame n when it is the last pair (k = n - 1)."""
    return (k, n) if k == n - 1 else (k,)


def zero_flow(frame_shape):
    """The flow stored for a one-frame video (no pair to compare): zero motion, so that every video has as
    many flow frames as rgb frames."""
    return np.zeros(tuple(frame_shape[:2]) + (2,), np.float32)
