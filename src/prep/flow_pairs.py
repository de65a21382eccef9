"""The real frame pairs shipped for the TV-L1 checks, and OpenCV's flow of them, in a few MB.

tests/data/tvl1_pairs_320x240.npz holds consecutive grey frames of one real clip at their stored size
and OpenCV's TV-L1 flow of each 320x240 pair in 1/128 px steps. Both are stored as left-neighbour
differences (zigzag, byte planes, lzma): 3-4x smaller than np.savez_compressed, decoded by one cumsum.
The 320x240 frames are the stored frames upscaled here (bilinear, half-pixel centres, float64, rounded
half to even): plain numpy, so every machine rebuilds the same uint8 frames OpenCV's flow was computed on.

Needs numpy and the standard library only (the GPU check runs where OpenCV and MindSpore are absent).
"""
import lzma

import numpy as np


def upscale_linear(grey, height, width):
    """(N, h, w) uint8 -> (N, height, width) uint8, bilinear with half-pixel centres (as cv2.resize
    INTER_LINEAR places samples), computed in float64 and rounded half to even."""
    grey = np.asarray(grey, np.float64)
    h, w = grey.shape[1:]

    def taps(n_src, n_dst):
        pos = np.clip((np.arange(n_dst) + 0.5) * (n_src / n_dst) - 0.5, 0, n_src - 1)
        low = np.minimum(np.floor(pos).astype(np.int64), n_src - 2)
        return low, pos - low

    y0, fy = taps(h, height)
    x0, fx = taps(w, width)
    rows = grey[:, y0] * (1 - fy)[:, None] + grey[:, y0 + 1] * fy[:, None]
    out = rows[:, :, x0] * (1 - fx) + rows[:, :, x0 + 1] * fx
    return np.rint(out).astype(np.uint8)


def pack_int16(planes):
    """int16 array (..., W) -> lzma bytes of its left-neighbour differences (zigzag, low/high byte planes)."""
    planes = np.asarray(planes, np.int16).astype(np.int32)
    diff = np.diff(planes, axis=-1, prepend=0)
    zigzag = ((diff << 1) ^ (diff >> 31)).astype(np.uint16)
    raw = zigzag.astype("<u2").view(np.uint8).reshape(*zigzag.shape, 2)
    return lzma.compress(np.stack([raw[..., 0], raw[..., 1]]).tobytes(), preset=9 | lzma.PRESET_EXTREME)


def unpack_int16(data, shape):
    """The inverse of pack_int16: int16 array of `shape`."""
    raw = np.frombuffer(lzma.decompress(bytes(data)), np.uint8).reshape(2, *shape)
    zigzag = raw[0].astype(np.int32) | (raw[1].astype(np.int32) << 8)
    diff = (zigzag >> 1) ^ -(zigzag & 1)
    return np.cumsum(diff, axis=-1).astype(np.int16)


def save_pairs(path, frames, size, flow, flow_step, **about):
    """Write consecutive grey frames (N+1, h, w) uint8 and the flow of their N pairs at `size` (height,
    width) as (N, height, width, 2) float, stored in `flow_step` px steps; `about` is kept as text."""
    frames = np.asarray(frames, np.uint8)
    steps = np.round(np.moveaxis(np.asarray(flow), -1, 1) / flow_step).astype(np.int16)  # (N, 2, H, W)
    np.savez(path, frames=np.frombuffer(pack_int16(frames), np.uint8), frames_shape=np.array(frames.shape),
             flow=np.frombuffer(pack_int16(steps), np.uint8), flow_shape=np.array(steps.shape),
             size=np.array(size), flow_step=np.float32(flow_step), **{k: str(v) for k, v in about.items()})


def load_pairs(path):
    """(first, second, flow) of a file written by save_pairs: uint8 (N, H, W) frames at the stored size
    and float32 (N, H, W, 2) OpenCV flow."""
    with np.load(path) as data:
        frames = unpack_int16(data["frames"], tuple(data["frames_shape"])).astype(np.uint8)
        steps = unpack_int16(data["flow"], tuple(data["flow_shape"]))
        height, width = (int(n) for n in data["size"])
        flow = np.moveaxis(steps, 1, -1).astype(np.float32) * data["flow_step"]
    grey = frames if frames.shape[1:] == (height, width) else upscale_linear(frames, height, width)
    return grey[:-1], grey[1:], flow
