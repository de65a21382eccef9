"""Decode the frames of one clip into uint8 (C, T, H, W), the network input contract (src/network_input.py).

Speed matters more than elegance here: each distinct frame is decoded once with OpenCV, cropped
(and mirrored) while still uint8 and split into planes straight into one preallocated channels-first
buffer (BGR -> RGB happens in that split). rgb is RGB, the order the pretrained weights expect; flow
has channels [x, y].
"""
import cv2
import numpy as np

from src.errors import VideoReadError
from src.media import decode_image
from src.layout import INPUT_CHANNELS, frame_path, mode_channels
from src.loader.spatial_transforms import center_plan, invert_flow_x, random_plan


def _decode_frame(video_dir, index, mode):
    """One frame as a list of uint8 images: [BGR image] for rgb, [x, y] grayscale for flow."""
    if mode == "rgb":
        return [decode_image(frame_path(video_dir, index), cv2.IMREAD_COLOR)]
    return [decode_image(frame_path(video_dir, index, c), cv2.IMREAD_GRAYSCALE) for c in mode_channels(mode)]


def _store(buffer, slot, images, plan, mode):
    """Crop/mirror one decoded frame into buffer[:, slot] (channels first, RGB order)."""
    if mode == "rgb":
        blue, green, red = cv2.split(plan.apply(images[0]))
        buffer[0, slot], buffer[1, slot], buffer[2, slot] = red, green, blue
    else:
        buffer[0, slot], buffer[1, slot] = plan.apply(images[0]), plan.apply(images[1])


def load_clip(video_dir, indices, mode, size, rng=None, flip=True):
    """Frames `indices` (1-based) of `video_dir` as uint8 (C, T, size, size), cropped and mirrored.

    With `rng` the crop position and mirror are random (train, drawn once for the clip; no mirror with
    flip=False); without, the centre crop and no mirror (eval). Loop-padded indices are decoded once.
    """
    unique, inverse = np.unique(np.asarray(indices), return_inverse=True)
    buffer = plan = shape = None
    for slot, index in enumerate(unique.tolist()):
        images = _decode_frame(video_dir, index, mode)
        if plan is None:
            shape = images[0].shape[:2]
            where = frame_path(video_dir, index, mode_channels(mode)[0])
            plan = random_plan(*shape, size, rng, where, flip) if rng is not None else center_plan(*shape, size, where)
            buffer = np.empty((INPUT_CHANNELS[mode], len(unique), size, size), dtype=np.uint8)
        for channel, image in zip(mode_channels(mode), images):
            if image.shape[:2] != shape:
                raise VideoReadError(frame_path(video_dir, index, channel),
                                     f"frame size {image.shape[:2]} differs from the clip's first frame {shape}")
        _store(buffer, slot, images, plan, mode)
    if plan.flip and mode == "flow":
        invert_flow_x(buffer[0])
    return buffer if np.array_equal(inverse, np.arange(len(inverse))) else buffer[:, inverse]
