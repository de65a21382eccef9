"""The frame tree: the one place that knows how frames, flow and frame counts are stored on disk.

    <root>/<class>/<video>/image_00001.jpg ...            rgb (1-based, 5 digits)
    <root>/<class>/<video>/image_00001x.jpg, ...y.jpg     flow (horizontal, vertical component)
    <root>/<class>/<video>/n_frames                       the frame count, plain text, no newline

`n_frames` is written last into a folder, so its presence marks the folder as complete. Flow is
stored as uint8 JPEGs: each component clipped to +-bound pixels and mapped to 0..255 (0 px -> 128).
Every reader and writer of the tree asks this module; nothing else spells these names.
"""
import math
import os
import re
from pathlib import Path

import numpy as np

from src.common.atomic import write_text_atomic
from src.common.errors import VideoReadError

N_FRAMES = "n_frames"
MODES = ("rgb", "flow")
# File-name suffixes that make up one frame of a mode, and the network's input channels for it.
MODE_SUFFIXES = {"rgb": ("",), "flow": ("x", "y")}
INPUT_CHANNELS = {"rgb": 3, "flow": 2}
FLOW_BOUND = 20.0  # pixels; the original's bound
# Matched whole (fullmatch) with ASCII digits only: `$` would also accept a trailing newline and `\d` any
# Unicode digit, names no tool writes that would then count as frames.
FRAME_RE = re.compile(r"image_([0-9]{5})([xy]?)\.jpg", re.ASCII)
RGB_FRAME_PATTERN = "image_%05d.jpg"
FLOW_FRAME_PATTERN = "image_%05dx/y.jpg"


def check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return mode


def mode_channels(mode):
    """The file-name suffixes that make up one frame of `mode` (rgb: one file, flow: x and y)."""
    return MODE_SUFFIXES[check_mode(mode)]


def mode_of_channels(channels):
    """'rgb' for 3 input channels, 'flow' for 2; otherwise a description such as '4-channel'."""
    for mode, count in INPUT_CHANNELS.items():
        if count == channels:
            return mode
    return f"{channels}-channel"


def video_folder(root, label, key):
    """The frame folder of annotation entry `key` with class `label`: <root>/<label>/<video>. Keys of the
    official datasets are the video names; own datasets may key `<class>/<video>` so that the same video
    name can appear in several classes."""
    return Path(root) / label / key.rpartition("/")[2]


def frame_name(index, channel=""):
    """File name of 1-based frame `index`; channel '' for rgb, 'x' or 'y' for the flow components."""
    return f"image_{index:05d}{channel}.jpg"


def frame_path(video_dir, index, channel=""):
    return Path(video_dir) / frame_name(index, channel)


def flow_names(index):
    """(x file name, y file name) of flow frame `index`."""
    return frame_name(index, "x"), frame_name(index, "y")


def rgb_frame_paths(folder):
    """Sorted `image_%05d.jpg` paths of a frame folder (flow `...x.jpg`/`...y.jpg` files are not matched)."""
    return sorted(p for p in Path(folder).iterdir() if (m := FRAME_RE.fullmatch(p.name)) and not m.group(2))


def frame_numbers(folder):
    """{'': rgb, 'x': flow x, 'y': flow y} -> the set of frame numbers present (one directory listing)."""
    found = {"": set(), "x": set(), "y": set()}
    for name in os.listdir(folder):
        m = FRAME_RE.fullmatch(name)
        if m:
            found[m.group(2)].add(int(m.group(1)))
    return found


def empty_frames(folder):
    """Frame files of 0 bytes (a disk that filled up, a copy cut short), sorted: no decoder reads them, and
    met in a data worker mid-epoch they would stop training with MindSpore's traceback."""
    with os.scandir(folder) as entries:
        return sorted(Path(folder) / e.name for e in entries if FRAME_RE.fullmatch(e.name) and e.stat().st_size == 0)


def first_missing(numbers, n):
    """The first of frames 1..n not in `numbers`, or None: the one rule for a gap in a frame folder
    (a gap would silently shift every later frame, so every reader refuses it)."""
    return next((k for k in range(1, n + 1) if k not in numbers), None)


def contiguous_rgb_frames(folder):
    """The rgb frames 1..n of a folder, checked to run without a gap and to end where its `n_frames` says
    (when it has one): a gap would silently shift every later frame. Errors name the first missing file."""
    numbers = frame_numbers(folder)[""]
    if not numbers:
        raise VideoReadError(folder, f"no {RGB_FRAME_PATTERN} frames")
    last = max(numbers)
    declared = read_n_frames(folder) if is_finished(folder) else None
    end = max(last, declared or 0)
    gap = first_missing(numbers, end)
    if gap is not None:
        said = f"n_frames says {declared}" if declared is not None else f"frames run to {frame_name(last)}"
        missing = len(set(range(1, end + 1)) - numbers)
        raise VideoReadError(frame_path(folder, gap), f"missing frame ({missing} missing; {said})")
    if declared is not None and last > declared:
        raise VideoReadError(frame_path(folder, last), f"beyond n_frames ({declared}): frames and n_frames disagree")
    return [frame_path(folder, k) for k in range(1, last + 1)]


# -- flow encoding -----------------------------------------------------------------------------------

def quantise_flow(flow, bound=FLOW_BOUND):
    """Flow in pixels -> uint8, with +-bound mapped to 0..255 (0 px -> 128)."""
    scaled = (np.clip(flow, -bound, bound) + bound) * (255.0 / (2 * bound))
    return np.round(scaled).astype(np.uint8)


def dequantise_flow(stored, bound=FLOW_BOUND):
    """uint8 (as stored) -> flow in pixels; the inverse of quantise_flow up to one step (2 bound / 255)."""
    return stored.astype(np.float32) * (2 * bound / 255.0) - bound


# -- n_frames ----------------------------------------------------------------------------------------

def read_n_frames(folder):
    """The number in `<folder>/n_frames`: '64', '64\\n' or '64.0' (the original parsed it as a float)."""
    path = Path(folder) / N_FRAMES
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise VideoReadError(path, "missing (run generate_n_frames.py on this frame tree)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VideoReadError(path, f"unreadable ({exc}); run generate_n_frames.py on this frame tree") from None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value != int(value) or value < 0:
        raise VideoReadError(path, f"expected a non-negative integer frame count, found {text!r} "
                                   "(run generate_n_frames.py on this frame tree)")
    return int(value)


def write_n_frames(folder, n):
    """Write the count the way the original did (plain number, no newline), atomically."""
    write_text_atomic(Path(folder) / N_FRAMES, str(int(n)))


def is_finished(folder):
    """A frame folder is complete once its `n_frames` exists (written last, then the folder is renamed)."""
    return (Path(folder) / N_FRAMES).is_file()


def _contiguous(indices, folder, kind):
    """n when the indices are exactly 1..n, otherwise an error naming the first missing frame."""
    n = max(indices)
    gap = first_missing(indices, n)
    if gap is not None:
        raise VideoReadError(folder, f"{kind} frame {gap} is missing (highest index {n}, {len(indices)} files)")
    return n


def count_frames(folder):
    """Frames in a folder of rgb or flow files, checked to run 1..n without a gap (x and y alike)."""
    folder = Path(folder)
    found = frame_numbers(folder)
    rgb, fx, fy = found[""], found["x"], found["y"]
    if not (rgb or fx or fy):
        raise VideoReadError(folder, f"no {RGB_FRAME_PATTERN} (rgb) or {FLOW_FRAME_PATTERN} (flow) frames")
    if fx != fy:
        raise VideoReadError(folder, f"flow x and y frames differ ({len(fx)} x, {len(fy)} y files)")
    counts = {}
    if rgb:
        counts["rgb"] = _contiguous(rgb, folder, "rgb")
    if fx:
        counts["flow"] = _contiguous(fx, folder, "flow")
    if len(set(counts.values())) > 1:
        raise VideoReadError(folder, f"holds {counts['rgb']} rgb and {counts['flow']} flow frames")
    return next(iter(counts.values()))
