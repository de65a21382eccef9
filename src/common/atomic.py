"""Write outputs all at once: into a hidden `.<name>.partial-<pid>` beside the target, then rename.

Readers skip hidden names, so a half-written file or folder is never taken for a finished one, and a
leftover from a killed run is recognisable (and removed by the next run of the tool). Every writer of
the project (frame folders, JSON, checkpoints, exported models, run records) uses this one scheme.
"""
import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from src.common.errors import UserError

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


LOCK_NAME = ".i3d-lock"


class OutputError(UserError):
    """An output folder that cannot be created or written; the message names it."""


class OutputBusy(OutputError):
    """Another run is writing into the same output folder."""


def writable_folder(folder, flag=""):
    """Create `folder` (and its parents) or fail with one line naming it and the flag that chose it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{flag + ' ' if flag else ''}{folder}: cannot create this folder "
                          f"({exc.strerror or exc})") from None
    return folder


@contextmanager
def exclusive_output(root, what):
    """Hold `<root>/.i3d-lock` while writing into `root`: a second run into the same folder stops at once
    with a message instead of racing the first. The lock goes with the process (a killed run leaves no
    stale lock); a read-only folder is found here, before any work."""
    root = writable_folder(root)
    try:
        handle = open(root / LOCK_NAME, "a+", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{root}: cannot write into this folder ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise OutputBusy(f"{root}: another {what} is writing into this folder ({holder}); wait for it to "
                             "finish or choose another output folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        yield root
    finally:
        handle.close()  # releases the lock
