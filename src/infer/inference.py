"""Turn a video, GIF, frame folder or .npy array into a network input, and logits into top-k lines.

Preprocessing follows DeepMind's Kinetics demo: RGB, short side 256, centre crop 224, values in
[-1, 1] after the network input step. Frames that are already crop-sized (DeepMind's sample GIFs are the preprocessed input)
are not rescaled.
"""
from itertools import islice
from pathlib import Path

import numpy as np

from src.infer.sources import input_frames


def load_input(path, mode="rgb", resize=256, crop=224, num_frames=None, allow_truncated=False):
    """The clip of a video, GIF, frame folder or .npy as (C, T, H, W): uint8 from frames (the network
    input contract, src/model/network_input.py), float32 as stored for a .npy (T, H, W, C) in [-1, 1]; the
    frames as src/infer/sources.py streams them."""
    frames = list(islice(input_frames(path, mode, resize, crop, allow_truncated), num_frames or None))
    if not frames:
        raise ValueError(f"{path}: no frames")
    return np.stack([f[mode] for f in frames], axis=1)


def read_labels(path):
    """Class names, one per line (blank lines skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--labels {path}: cannot read it as UTF-8 text ({exc})") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


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
