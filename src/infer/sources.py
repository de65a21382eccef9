"""The frames of one input, one at a time, as the network streams take them: {mode: (C, H, W)}.

A video, GIF or rgb frame folder gives rgb frames (short side --resize unless already crop-sized, centre
crop), a flow folder gives its x/y planes (centre crop only: rescaling would change the displacements),
a .npy (T, H, W, C) in [-1, 1] gives float frames as stored, and a raw video with both streams gives rgb
and TV-L1 flow made as the data tools make them (src/infer/video_streams.py). Streams, so that a long video is
never held whole; `frame_size` and `frame_count` look at an input without decoding it.
"""
import math
from pathlib import Path

import cv2
import numpy as np

from src.common.errors import UserError, VideoReadError
from src.data.layout import FLOW_FRAME_PATTERN, INPUT_CHANNELS, count_frames, frame_numbers, frame_path
from src.data.loader.clip_reader import load_clip
from src.data.loader.spatial_transforms import center_plan
from src.data.media import GIF_SUFFIXES, declared_frame_count, image_size, iter_frames, resize_short_side


class InputError(UserError, ValueError):
    """An input that cannot be read as asked (frames smaller than the crop, a wrong kind); names it."""


def read_npy(path):
    """A .npy array whose header is checked against the file size first: a malformed or enormous header
    is an error naming the file, not a huge allocation or a crash inside NumPy."""
    fmt = np.lib.format
    headers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}  # 3.0: structured dtypes only
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            if version not in headers:
                raise ValueError(f".npy format version {version[0]}.{version[1]}")
            shape, fortran, dtype = headers[version](f)
            data_start = f.tell()
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
    need = math.prod(shape) * dtype.itemsize
    have = Path(path).stat().st_size - data_start
    if dtype.hasobject or have != need:
        raise ValueError(f"{path}: the .npy header declares {shape} {dtype} ({need} bytes) but the file holds "
                         f"{have} bytes of data")
    return np.load(path, allow_pickle=False)


def is_npy(path):
    return Path(path).suffix.lower() == ".npy"


def frame_size(path):
    """(height, width) of an input's frames, read from the container, the first frame or the array header."""
    path = Path(path)
    if is_npy(path):
        return tuple(read_npy(path).shape[1:3])
    if path.is_dir():
        found = frame_numbers(path)
        channel = "" if found[""] else "x"
        if not found[channel]:
            raise VideoReadError(path, f"no image_%05d.jpg (rgb) or {FLOW_FRAME_PATTERN} (flow) frames")
        return image_size(frame_path(path, min(found[channel]), channel))
    if path.suffix.lower() in GIF_SUFFIXES:
        return image_size(path)
    if not path.is_file():
        raise VideoReadError(path, "no such file")
    cap = cv2.VideoCapture(str(path))
    try:
        size = (int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)))
    finally:
        cap.release()
    if min(size) <= 0:
        raise VideoReadError(path, "OpenCV cannot open it (unknown container/codec or corrupt)")
    return size


def frame_count(path):
    """The number of frames an input says it has (a video's header; 0 when unknown), for progress bars."""
    path = Path(path)
    if is_npy(path):
        return read_npy(path).shape[0]
    if path.is_dir():
        return count_frames(path)
    if path.suffix.lower() in GIF_SUFFIXES:
        return 0
    return declared_frame_count(path)


def rgb_frames(path, resize, crop, allow_truncated=False):
    """rgb (3, crop, crop) uint8 per frame: short side `resize` (frames already crop-sized are kept, as
    DeepMind's sample GIFs are the preprocessed input), then the centre crop."""
    plan = None
    for frame in iter_frames(path, allow_truncated):
        frame = frame if min(frame.shape[:2]) == crop else resize_short_side(frame, resize)
        plan = plan or center_plan(*frame.shape[:2], crop, path)
        yield {"rgb": np.ascontiguousarray(plan.apply(frame).transpose(2, 0, 1))}


def folder_frames(folder, mode, crop):
    """{mode: (C, crop, crop)} uint8 per frame of a frame folder (1..n without a gap), as the loader crops it
    (no rescaling: for flow it would change the stored displacements)."""
    for index in range(1, count_frames(folder) + 1):
        yield {mode: load_clip(folder, [index], mode, crop)[:, 0]}


def flow_folder_frames(path, crop):
    """flow (2, crop, crop) uint8 per frame of a flow folder."""
    if not Path(path).is_dir():
        raise InputError(f"{path}: flow input must be a folder of {FLOW_FRAME_PATTERN} frames or a .npy")
    return folder_frames(path, "flow", crop)


def read_npy_clip(path, mode):
    """A .npy clip (T, H, W, C) float32, checked: its shape for `mode`, finite values in [-1, 1] (errors name it)."""
    from src.model.network_input import as_network_input

    clip = read_npy(path)
    channels = INPUT_CHANNELS[mode]
    if clip.ndim != 4 or clip.shape[-1] != channels:
        raise InputError(f"{path}: expected an array (T, H, W, {channels}) for {mode}, got {clip.shape}")
    return as_network_input(clip, str(path))


def npy_frames(path, mode):
    """float32 (C, H, W) per frame of a .npy (T, H, W, C) in [-1, 1], as stored."""
    for frame in read_npy_clip(path, mode):
        yield {mode: np.ascontiguousarray(frame.transpose(2, 0, 1))}


def input_frames(path, mode, resize=256, crop=224, allow_truncated=False):
    """The frames of one input for one stream (see the module docstring)."""
    if is_npy(path):
        return npy_frames(path, mode)
    if mode == "flow":
        return flow_folder_frames(path, crop)
    return rgb_frames(path, resize, crop, allow_truncated)
