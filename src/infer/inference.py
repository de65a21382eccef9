"""Turn a video, GIF, frame folder or .npy array into a network input, and logits into top-k lines.

Preprocessing follows DeepMind's Kinetics demo: RGB, short side 256, centre crop 224, values in
[-1, 1] after the network input step. Frames that are already crop-sized (DeepMind's sample GIFs are the preprocessed input)
are not rescaled.
"""
import math
from pathlib import Path

import numpy as np

from src.data.layout import FLOW_FRAME_PATTERN, INPUT_CHANNELS, count_frames
from src.data.loader.clip_reader import load_clip as load_frame_clip
from src.data.loader.spatial_transforms import center_plan
from src.data.media import read_frames, resize_short_side


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


def load_input(path, mode="rgb", resize=256, crop=224, num_frames=None):
    """The clip of a video, GIF, frame folder or .npy as (C, T, H, W): uint8 from frames (the network
    input contract, src/model/network_input.py), float32 as stored for a .npy (T, H, W, C) in [-1, 1]."""
    path = Path(path)
    channels = INPUT_CHANNELS[mode]
    if path.suffix.lower() == ".npy":
        clip = read_npy(path)
        if clip.ndim != 4 or clip.shape[-1] != channels:
            raise ValueError(f"{path}: expected an array (T, H, W, {channels}) for {mode}, got {clip.shape}")
        clip = clip.astype(np.float32).transpose(3, 0, 1, 2)
    elif mode == "flow":
        if not path.is_dir():
            raise ValueError(f"{path}: flow input must be a folder of {FLOW_FRAME_PATTERN} frames or a .npy")
        # flow is centre-cropped only: rescaling would change the stored pixel displacements
        clip = load_frame_clip(path, range(1, count_frames(path) + 1), "flow", crop)
    else:
        frames = [f if min(f.shape[:2]) == crop else resize_short_side(f, resize) for f in read_frames(path)]
        clip = np.stack([center_plan(*f.shape[:2], crop, path).apply(f) for f in frames]).transpose(3, 0, 1, 2)
    return clip[:, :num_frames] if num_frames else clip


def two_stream_logits(rgb_clip, flow_clip, rgb_checkpoint, flow_checkpoint, arch=None, head=None):
    """({"rgb", "flow", "joint"} logits of one video, {"rgb", "flow"} checkpoint records): each stream's
    network on its clip, joint = their sum (late fusion, as eval.py --test_mode joint)."""
    from src.checkpoints.checkpoint import CheckpointError, load_recorded
    from src.model.network_input import to_batch
    from src.evaluate.video_logits import network_forward

    logits, records = {}, {}
    for stream, clip, path in (("rgb", rgb_clip, rgb_checkpoint), ("flow", flow_clip, flow_checkpoint)):
        net, records[stream] = load_recorded(path, f"--{stream}_checkpoint", mode=stream, arch=arch, head=head)
        logits[stream] = network_forward(net)(to_batch(clip))[0]
    if logits["rgb"].shape != logits["flow"].shape:
        raise CheckpointError(f"--rgb_checkpoint {rgb_checkpoint} has {logits['rgb'].shape[0]} classes but "
                              f"--flow_checkpoint {flow_checkpoint} has {logits['flow'].shape[0]}")
    logits["joint"] = logits["rgb"] + logits["flow"]
    return logits, records


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
