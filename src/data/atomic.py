"""Write outputs all at once: into a hidden `.<name>.partial-<pid>` beside the target, then rename.

Readers skip hidden names, so a half-written file or folder is never taken for a finished one, and a
leftover from a killed run is recognisable (and removed by the next run of the tool).
"""
import os
from pathlib import Path

PARTIAL_TAG = ".partial-"


def partial_path(path):
    """The temp name this process uses for `path`."""
    path = Path(path)
    return path.with_name(f".{path.name}{PARTIAL_TAG}{os.getpid()}")


def is_partial_of(candidate, path):
    """True for a temp name of `path` left by any process (compares names: no glob, names may hold `[`)."""
    prefix = f".{Path(path).name}{PARTIAL_TAG}"
    name = Path(candidate).name
    return name.startswith(prefix) and name[len(prefix):].isdigit()


def write_text_atomic(path, text):
    tmp = partial_path(path)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
