"""The network's input contract, in one place.

Every reader (training loader, validation, eval, predict, feature extraction) yields clips as uint8
(C, T, H, W): C = 3 (RGB) or 2 (flow x, y), in the frame tree's stored values. The one scaling step
v / 127.5 - 1 turns them into the float32 [-1, 1] the network (and an exported model) takes: in NumPy
for inference (`as_network_input`), on the device for training (`ScaledInput`, 4x less data through
the pipeline). A float clip (a user's .npy) is taken as already scaled and only checked.
"""
import cv2
import mindspore as ms
import numpy as np
from mindspore import nn, ops

SCALE = 1.0 / 127.5
OFFSET = -1.0
CLIP_LAYOUT = "(C, T, H, W)"


def scale_clip(clip):
    """uint8 (..., W) -> float32 in [-1, 1] as v / 127.5 - 1, in one vectorised pass."""
    flat = np.ascontiguousarray(clip).reshape(-1, clip.shape[-1])
    return cv2.addWeighted(flat, SCALE, flat, 0, OFFSET, dtype=cv2.CV_32F).reshape(clip.shape)


def as_network_input(clips, where="input"):
    """uint8 clips -> scaled float32; float clips are checked to be finite and within [-1, 1]."""
    clips = np.asarray(clips)
    if clips.dtype == np.uint8:
        return scale_clip(clips)
    clips = clips.astype(np.float32, copy=False)
    if not np.isfinite(clips).all():
        raise ValueError(f"{where}: holds NaN or infinite values")
    if clips.size and (clips.min() < -1.0001 or clips.max() > 1.0001):
        raise ValueError(f"{where}: float values must already be in [-1, 1] "
                         f"(found {clips.min():.3g}..{clips.max():.3g})")
    return clips


def to_batch(clip):
    """One (C, T, H, W) clip -> a contiguous batch of one (1, C, T, H, W)."""
    return np.ascontiguousarray(clip[None])


class ScaledInput(nn.Cell):
    """uint8 clips -> v / 127.5 - 1 on the device -> the network (the training input path).

    auto_prefix=False keeps the wrapped network's parameter names (checkpoints stay the network's).
    """

    def __init__(self, net):
        super().__init__(auto_prefix=False)
        self.net = net

    def construct(self, x):
        return self.net(ops.cast(x, ms.float32) * SCALE + OFFSET)


def rgb_to_bgr(x):
    """Reverse the channel axis of (N, 3, T, H, W): the one place where a BGR network (arch original)
    meets the project's RGB clips. Slices and a concat, so it exports to MINDIR and ONNX."""
    return ops.concat((x[:, 2:3], x[:, 1:2], x[:, 0:1]), axis=1)
