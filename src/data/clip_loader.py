"""Decode the frames of one clip into the network's input: float32 (C, T, H, W) in [-1, 1].

Speed matters more than elegance here (DESIGN.md section 8): each distinct frame is decoded once
with OpenCV, cropped while still uint8, written into one preallocated buffer, and the whole clip
is converted to float in a single table lookup that also reorders BGR -> RGB and moves channels
first. rgb is RGB (the original fed BGR, spec section 9, bug 5); flow has channels [x, y].
"""
import cv2
import numpy as np

from src.data.clip_index import frame_path, mode_channels
from src.data.spatial_transforms import center_plan, mirror, random_plan
from src.data.video import VideoReadError

# v / 127.5 - 1 for every uint8 value, computed once in float64: exact, and symmetric so that
# LUT[255 - v] == -LUT[v] (a mirrored flow x is the exact negation).
SCALE_LUT = (np.arange(256, dtype=np.float64) / 127.5 - 1.0).astype(np.float32)


def _imread(path, flags):
    """cv2.imread with an error that names the file (cv2 returns None silently)."""
    image = cv2.imread(str(path), flags)
    if image is None:
        raise VideoReadError(path, "missing or unreadable frame")
    return image


def _decode_frame(video_dir, index, mode):
    """One frame as uint8 (H, W, C): BGR for rgb (reordered later, for free), [x, y] for flow."""
    if mode == "rgb":
        return _imread(frame_path(video_dir, index), cv2.IMREAD_COLOR)
    x, y = (_imread(frame_path(video_dir, index, c), cv2.IMREAD_GRAYSCALE) for c in mode_channels(mode))
    if x.shape != y.shape:
        raise VideoReadError(frame_path(video_dir, index, "y"), f"size {y.shape} differs from the x image {x.shape}")
    return x, y


def _store(buffer, slot, decoded, plan, mode, video_dir, index, shape):
    """Crop a decoded frame into buffer[slot], checking that it has the clip's frame size."""
    parts = (decoded,) if mode == "rgb" else decoded
    if parts[0].shape[:2] != shape:
        raise VideoReadError(frame_path(video_dir, index, mode_channels(mode)[0]),
                             f"frame size {parts[0].shape[:2]} differs from the clip's first frame {shape}")
    if mode == "rgb":
        buffer[slot] = plan.crop(decoded)
    else:
        buffer[slot, :, :, 0] = plan.crop(parts[0])
        buffer[slot, :, :, 1] = plan.crop(parts[1])


def load_clip(video_dir, indices, mode, size, rng=None):
    """Frames `indices` (1-based) of `video_dir` as float32 (C, T, size, size) in [-1, 1].

    With `rng` the crop position and mirror are random (train, drawn once for the clip); without,
    the centre crop and no mirror (eval). Loop-padded indices are decoded once.
    """
    channels = 3 if mode == "rgb" else len(mode_channels(mode))
    unique, inverse = np.unique(np.asarray(indices), return_inverse=True)
    buffer = np.empty((len(unique), size, size, channels), dtype=np.uint8)
    plan = shape = None
    for slot, index in enumerate(unique):
        decoded = _decode_frame(video_dir, int(index), mode)
        if plan is None:
            shape = (decoded if mode == "rgb" else decoded[0]).shape[:2]
            where = frame_path(video_dir, int(index), mode_channels(mode)[0])
            plan = (random_plan(*shape, size, rng, where) if rng is not None
                    else center_plan(*shape, size, where))
        _store(buffer, slot, decoded, plan, mode, video_dir, int(index), shape)
    in_order = np.array_equal(inverse, np.arange(len(inverse)))
    frames = buffer if in_order else buffer[inverse]
    if plan.flip:
        frames = mirror(frames, mode)
    chw = frames.transpose(3, 0, 1, 2)
    if mode == "rgb":
        chw = chw[::-1]  # BGR -> RGB
    out = np.empty(chw.shape, dtype=np.float32)
    np.take(SCALE_LUT, chw, out=out)
    return out
