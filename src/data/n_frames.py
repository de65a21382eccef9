"""The `n_frames` file of a frame folder: the frame count as plain text, no newline (the original's format).

It is written last into an output folder, so its presence marks the folder as complete.
"""
from pathlib import Path

from src.data.atomic import write_text_atomic
from src.data.video import VideoReadError

N_FRAMES = "n_frames"


def read_n_frames(folder):
    """The number in `<folder>/n_frames` (written without a newline; a trailing newline is accepted)."""
    path = Path(folder) / N_FRAMES
    text = path.read_text(encoding="ascii").strip()
    if not text.isdigit():
        raise VideoReadError(path, f"n_frames holds {text!r}, not a frame count")
    return int(text)


def write_n_frames(folder, n):
    """Write the count the way the original did (plain number, no newline), atomically."""
    write_text_atomic(Path(folder) / N_FRAMES, str(int(n)))
