"""Windows of a frame stream, in bounded memory: what a long video is cut into for predictions and features.

The windows are those of src/data/loader/temporal_sampling.sliding_windows: starts 0, stride, 2 stride, ...
of every window that fits, and one loop-padded window for a video shorter than a window, so a stream
gives exactly the windows (and frame indices) the frame-folder readers give. Only the last `window`
frames are held; `window` 0 is the whole input as one window.
"""
from collections import deque
from dataclasses import dataclass

import numpy as np

from src.data.loader.temporal_sampling import loop_pad


@dataclass(frozen=True)
class Window:
    """One window: its 1-based frame indices (loop-padded for a short video) and {mode: (C, T, H, W)}."""

    frames: np.ndarray
    clips: dict

    @property
    def start(self):
        return int(self.frames.min())

    @property
    def end(self):
        return int(self.frames.max())


def _stack(frames, modes):
    return {mode: np.stack([f[mode] for f in frames], axis=1) for mode in modes}


def sliding(frames, window, stride):
    """Window per window of a stream of {mode: (C, H, W)} frames (window 0: one window of every frame)."""
    held = deque(maxlen=window or None)
    emitted, n, modes = False, 0, None
    for n, frame in enumerate(frames, 1):
        modes = modes or tuple(frame)
        held.append(frame)
        start = n - window  # 0-based start of the window that ends at this frame
        if window and start >= 0 and start % stride == 0:
            emitted = True
            yield Window(np.arange(start + 1, n + 1, dtype=np.int64), _stack(held, modes))
    if n == 0:
        return
    if not window:
        yield Window(np.arange(1, n + 1, dtype=np.int64), _stack(held, modes))
    elif not emitted:  # shorter than one window: the frames loop-padded, as the loader does
        order = loop_pad(np.arange(n), window)
        held = list(held)
        yield Window(order + 1, _stack([held[i] for i in order], modes))


def batches(windows, size):
    """Lists of up to `size` windows."""
    batch = []
    for w in windows:
        batch.append(w)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def batch_clips(batch, mode):
    """(N, C, T, H, W) of one stream from a list of windows."""
    return np.ascontiguousarray(np.stack([w.clips[mode] for w in batch]))
