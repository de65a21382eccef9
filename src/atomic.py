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


def partial_target(candidate):
    """The name a temp name stands for (any pid), or None when it is not one of ours."""
    name = Path(candidate).name
    head, tag, pid = name.rpartition(PARTIAL_TAG)
    return head[1:] if name.startswith(".") and tag and pid.isdigit() else None


def write_text_atomic(path, text):
    tmp = partial_path(path)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
