"""The `n_frames` file of a frame folder: the frame count as plain text, no newline (the original's format).

It is written last into an output folder, so its presence marks the folder as complete.
"""
from pathlib import Path

from src.data.atomic import write_text_atomic
from src.data.video import VideoReadError

N_FRAMES = "n_frames"


def read_n_frames(folder):
    """The number in `<folder>/n_frames`: '64', '64\\n' or '64.0' (the original parsed it as a float)."""
    path = Path(folder) / N_FRAMES
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise VideoReadError(path, "missing (run generate_n_frames.py on this frame tree)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VideoReadError(path, f"unreadable ({exc})") from None
    try:
        value = float(text)
    except ValueError:
        raise VideoReadError(path, f"expected an integer frame count, found {text!r}") from None
    if value != int(value) or value < 0:
        raise VideoReadError(path, f"expected a non-negative integer frame count, found {text!r}")
    return int(value)


def write_n_frames(folder, n):
    """Write the count the way the original did (plain number, no newline), atomically."""
    write_text_atomic(Path(folder) / N_FRAMES, str(int(n)))
