"""Turn a video, GIF, frame folder or .npy array into a network input, and logits into top-k lines.

Preprocessing follows DeepMind's Kinetics demo: RGB, short side 256, centre crop 224, values in
[-1, 1]. Frames that are already crop-sized (DeepMind's sample GIFs are the preprocessed input)
are not rescaled.
"""
from pathlib import Path

import cv2
import numpy as np

from .data.clip_loader import load_clip as load_flow_clip
from .data.frame_count import count_frames
from .data.spatial_transforms import center_plan
from .data.video import read_frames

def resize_short_side(frame, size):
    h, w = frame.shape[:2]
    if min(h, w) == size:
        return frame
    scale = size / min(h, w)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(frame, (new_w, new_h), interpolation=interp)


def load_clip(path, mode="rgb", resize=256, crop=224, num_frames=None):
    """float32 (T, H, W, C) in [-1, 1] for the network (C = 3 rgb, 2 flow)."""
    path = Path(path)
    channels = 3 if mode == "rgb" else 2
    if path.suffix.lower() == ".npy":
        clip = np.load(path, allow_pickle=False).astype(np.float32)
        if clip.ndim != 4 or clip.shape[-1] != channels:
            raise ValueError(f"{path}: expected an array (T, H, W, {channels}) for {mode}, got {clip.shape}")
        if clip.min() < -1.0001 or clip.max() > 1.0001:
            raise ValueError(f"{path}: values must already be in [-1, 1] (found {clip.min():.3g}..{clip.max():.3g})")
    else:
        if mode == "flow":
            if not path.is_dir():
                raise ValueError(f"{path}: flow input must be a folder of image_%05dx/y.jpg frames or a .npy")
            # flow is centre-cropped only: rescaling would change the stored pixel displacements
            n = count_frames(path)
            clip = load_flow_clip(path, range(1, n + 1), "flow", crop).transpose(1, 2, 3, 0)
        else:
            frames = [f if min(f.shape[:2]) == crop else resize_short_side(f, resize) for f in read_frames(path)]
            frames = [center_plan(*f.shape[:2], crop, path).apply(f) for f in frames]
            clip = np.stack(frames).astype(np.float32) / 127.5 - 1.0
    if num_frames:
        clip = clip[:num_frames]
    return clip


def to_network_input(clip):
    """(T, H, W, C) -> (1, C, T, H, W)."""
    return np.ascontiguousarray(clip.transpose(3, 0, 1, 2)[None])


def read_labels(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def softmax(logits):
    e = np.exp(logits - logits.max())
    return e / e.sum()


def top_k_lines(logits, labels=None, k=5):
    probs = softmax(logits.astype(np.float64))
    order = np.argsort(-logits)[:k]
    width = max(len(labels[i]) for i in order) if labels else 10
    lines = []
    for rank, i in enumerate(order, 1):
        name = labels[i] if labels else f"class {i}"
        lines.append(f"{rank:>2}. {name:<{width}}  logit {logits[i]:8.4f}  prob {probs[i]:.4f}")
    return lines
