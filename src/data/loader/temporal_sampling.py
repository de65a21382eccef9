"""Which frames (1-based indices) of an n-frame video make up a clip.

Train draws a uniformly random window (every start, the last one included); eval takes the centred
window, or N windows spread evenly over the video (multi-view testing), so an evaluation is deterministic. Videos shorter than the window are loop-padded: [1, 2, 3] for 8 frames gives [1, 2, 3, 1, 2, 3, 1, 2].
"""
import numpy as np


def loop_pad(indices, duration):
    """Repeat `indices` cyclically until it has `duration` entries (int64 array)."""
    indices = np.asarray(indices, dtype=np.int64)
    return np.resize(indices, duration)


def _window(n_frames, duration, start):
    """Frames start+1 .. start+duration, loop-padded when the video is shorter than the window."""
    return loop_pad(np.arange(start + 1, min(n_frames, start + duration) + 1), duration)


def random_window(n_frames, duration, rng):
    """Train: every start 0..n-duration equally likely (the last one included)."""
    start = int(rng.integers(0, max(0, n_frames - duration) + 1))
    return _window(n_frames, duration, start)


def center_window(n_frames, duration):
    """Eval: the window with equal margins (the extra frame, if any, goes to the end)."""
    return _window(n_frames, duration, max(0, (n_frames - duration) // 2))


def spread_windows(n_frames, duration, num_clips):
    """Multi-view eval: `num_clips` windows whose starts are evenly spaced from the first frame to the last
    possible start (rounded), so together they cover the whole video; one clip is the centred window."""
    if num_clips < 1:
        raise ValueError(f"num_clips must be at least 1, got {num_clips}")
    if num_clips == 1:
        return [center_window(n_frames, duration)]
    starts = np.round(np.linspace(0, max(0, n_frames - duration), num_clips)).astype(int)
    return [_window(n_frames, duration, int(start)) for start in starts]


def sliding_windows(n_frames, duration, stride):
    """Feature extraction: windows starting at 0, stride, 2 stride, ... that fit in the video (at least one,
    loop-padded when the video is shorter than a window)."""
    if duration < 1 or stride < 1:
        raise ValueError(f"window and stride must be at least 1, got {duration} and {stride}")
    return [_window(n_frames, duration, start) for start in range(0, max(1, n_frames - duration + 1), stride)]


def all_frames(n_frames):
    """The whole-video protocol: every frame once, in order."""
    return np.arange(1, n_frames + 1, dtype=np.int64)


def clip_indices(n_frames, duration, rng=None):
    """Frame indices of one clip: random window with `rng`, centred without; duration 0 = all frames."""
    if not duration:
        return all_frames(n_frames)
    if rng is None:
        return center_window(n_frames, duration)
    return random_window(n_frames, duration, rng)
