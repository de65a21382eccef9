"""Decode the frames of one clip into uint8 (C, T, H, W), the network input contract (src/model/network_input.py).

Speed matters more than elegance here: each distinct frame is decoded once with OpenCV, cropped
(and mirrored) while still uint8 and split into planes straight into one preallocated channels-first
buffer (BGR -> RGB happens in that split). rgb is RGB, the order the pretrained weights expect; flow
has channels [x, y].
"""
import cv2
import numpy as np

from src.common.errors import VideoReadError
from src.data.media import decode_image
from src.data.layout import INPUT_CHANNELS, frame_path, mode_channels
from src.data.loader.spatial_transforms import center_plan, invert_flow_x, random_plan, view_plans


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


def _read_crops(video_dir, indices, mode, size, make_plans):
    """Frames `indices` (1-based) of `video_dir` cropped by each plan of make_plans(frame shape, where):
    uint8 (plans, C, T, size, size). Each distinct frame is decoded once, whatever the plans and padding."""
    unique, inverse = np.unique(np.asarray(indices), return_inverse=True)
    buffer = plans = shape = None
    for slot, index in enumerate(unique.tolist()):
        images = _decode_frame(video_dir, index, mode)
        if plans is None:
            shape = images[0].shape[:2]
            plans = make_plans(shape, frame_path(video_dir, index, mode_channels(mode)[0]))
            buffer = np.empty((len(plans), INPUT_CHANNELS[mode], len(unique), size, size), dtype=np.uint8)
        for channel, image in zip(mode_channels(mode), images):
            if image.shape[:2] != shape:
                raise VideoReadError(frame_path(video_dir, index, channel),
                                     f"frame size {image.shape[:2]} differs from the clip's first frame {shape}")
        for view, plan in zip(buffer, plans):
            _store(view, slot, images, plan, mode)
    for view, plan in zip(buffer, plans):
        if plan.flip and mode == "flow":
            invert_flow_x(view[0])
    return buffer if np.array_equal(inverse, np.arange(len(inverse))) else buffer[:, :, inverse]


def load_clip(video_dir, indices, mode, size, rng=None, flip=True):
    """Frames `indices` (1-based) of `video_dir` as uint8 (C, T, size, size), cropped and mirrored.

    With `rng` the crop position and mirror are random (train, drawn once for the clip; no mirror with
    flip=False); without, the centre crop and no mirror (eval). Loop-padded indices are decoded once.
    """
    def plan(shape, where):
        return [random_plan(*shape, size, rng, where, flip) if rng is not None else center_plan(*shape, size, where)]

    return _read_crops(video_dir, indices, mode, size, plan)[0]


def load_views(video_dir, windows, mode, size, num_crops):
    """Multi-view eval: every window (1-based frame indices) in `num_crops` crops (see view_plans), as uint8
    (len(windows) * num_crops, C, T, size, size), window-major."""
    def plans(shape, where):
        return view_plans(*shape, size, num_crops, where)

    return np.concatenate([_read_crops(video_dir, window, mode, size, plans) for window in windows])
