"""Where outputs go and how they are written: the rules every tool shares (docs/bad_input.md).

- Written all at once: into a hidden `.<name>.partial-<pid>` beside the target, then renamed. Readers skip
  hidden names, so a half-written file or folder is never taken for a finished one, and a leftover from a
  killed run is recognisable (and removed by the next run of the tool).
- The output-path rule: exactly the path given (a suffix only for a bare name, and said), never one of the
  tool's inputs or inside one (refuse_overlap, output_file).
- Locks: per output folder (exclusive_output) or per unit of work (unit_lock), removed when released.
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


class Lock:
    """An exclusive lock file held by this process (flock): a second holder stops at once with a message
    naming what is busy. The file is removed when the lock is released, and the lock goes with the process
    (a killed run leaves a file that locks nothing). Taking it checks that the file locked is still the one
    at `path`: a holder that removed it between our open and our flock leaves us to try again."""

    def __init__(self, path, busy_message):
        """busy_message: what a second holder is told; `{holder}` in it becomes the first holder's pid and time."""
        self.path, self.busy_message, self.handle = Path(path), busy_message, None

    def acquire(self):
        while True:
            try:
                handle = open(self.path, "a+", encoding="utf-8")
            except OSError as exc:
                raise OutputError(f"{self.path.parent}: cannot write into this folder ({exc.strerror or exc})") from None
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                raise OutputBusy(self.busy_message.replace("{holder}", holder)) from None
            try:
                current = os.stat(self.path).st_ino == os.fstat(handle.fileno()).st_ino
            except FileNotFoundError:
                current = False
            if current:
                break
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        self.handle = handle
        return self

    def release(self):
        if self.handle is not None:
            try:
                self.path.unlink(missing_ok=True)  # still ours: removed before the lock goes
            finally:
                self.handle.close()
                self.handle = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


@contextmanager
def exclusive_output(root, what):
    """Hold `<root>/.i3d-lock` while writing into `root`: a second run into the same folder stops at once
    with a message instead of racing the first (tools whose work is not meant to run in parallel). A
    read-only folder is found here, before any work; the lock file goes when the run ends."""
    root = writable_folder(root)
    with Lock(root / LOCK_NAME, f"{root}: another {what} is writing into this folder (" "{holder}); wait for it "
                                "to finish or choose another output folder"):
        yield root


UNIT_LOCK_SUFFIX = ".lock"


def unit_lock(dst):
    """The lock of one unit of work (a video's output folder) for tools whose runs may share an output
    tree (convert_rgb_to_flow shards): `.<name>.lock` beside `dst`, hidden from every reader."""
    dst = Path(dst)
    return Lock(dst.with_name(f".{dst.name}{UNIT_LOCK_SUFFIX}"),
                f"{dst}: another run is writing this output (" "{holder})")


# -- the output-path rule ---------------------------------------------------------------------------

def _same_or_inside(path, other):
    """'same' when `path` is `other` (links followed), 'inside' when it lies below it, else None."""
    a, b = Path(path).resolve(), Path(other).resolve()
    if a == b or (a.exists() and b.exists() and os.path.samefile(a, b)):
        return "same"
    return "inside" if b in a.parents else None


def refuse_overlap(inputs, outputs):
    """The output-path rule, for every tool: an output that is one of the inputs or lies inside one (or an
    input that is the output) is refused before any work, naming both flags. Written there, the output
    would overwrite what it is made from or become part of it. inputs/outputs: (flag, path) pairs."""
    for out_flag, out in outputs:
        for in_flag, src in inputs:
            relation = _same_or_inside(out, src)
            if relation == "same":
                raise OutputError(f"{out_flag} {out} is the same path as {in_flag} {src}: the output would overwrite "
                                  "its own input; choose another output")
            if relation == "inside":
                raise OutputError(f"{out_flag} {out} lies inside {in_flag} {src}: the output would become part of "
                                  "its own input; choose a path outside it")


def output_file(path, suffix, flag, say=print):
    """The file a tool writes for `flag`: exactly the path given. Only a name without any suffix gets
    `suffix`, and the tool says so; a folder is refused (a file beside it would be a surprise)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{flag} {path}: is a folder; give a file name (e.g. {path / ('out' + suffix)})")
    if path.suffix:
        return path
    chosen = path.with_name(path.name + suffix)
    say(f"{flag} {path} has no suffix: writing {chosen}")
    return chosen
