"""Write outputs all at once: into a hidden `.<name>.partial-<pid>` beside the target, then rename.

Readers skip hidden names, so a half-written file or folder is never taken for a finished one, and a
leftover from a killed run is recognisable (and removed by the next run of the tool). Every writer of
the project (frame folders, JSON, checkpoints, exported models, run records) uses this one scheme.
"""
import os
from contextlib import contextmanager
from pathlib import Path

PARTIAL_TAG = ".partial-"


def partial_path(path, suffix=""):
    """The temp name this process uses for `path`; `suffix` goes last, for writers that insist on one
    (MindSpore appends `.ckpt` to any checkpoint name without it)."""
    path = Path(path)
    return path.with_name(f".{path.name}{PARTIAL_TAG}{os.getpid()}{suffix}")


def partial_target(candidate):
    """The name a temp name stands for (any pid, any suffix), or None when it is not one of ours."""
    name = Path(candidate).name
    head, tag, rest = name.rpartition(PARTIAL_TAG)
    pid = rest.split(".", 1)[0]
    return head[1:] if name.startswith(".") and tag and pid.isdigit() else None


@contextmanager
def atomic_output(path, suffix=""):
    """`with atomic_output(p) as tmp:` write the file `tmp`; it becomes `p` only if the block succeeds."""
    path = Path(path)
    tmp = partial_path(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path, text):
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
