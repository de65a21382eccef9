"""What every preprocessing tool shares: walking `<root>/<class>/<item>`, a worker pool with a progress
bar, resumable output folders (hidden temp folder, renamed when complete) and the final summary.

One video that cannot be processed never stops the batch: it is listed with its reason at the end and
the exit status is 1.
"""
import multiprocessing
import os
import shutil
import signal
import sys
import threading
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from tqdm import tqdm

from src.common.atomic import OutputError, partial_path, partial_target, unit_lock
from src.common.errors import UserError, VideoReadError, run_command
from src.common.flag_types import job_count

_HELD = {}  # output folder -> its unit lock, held by this process from open_folder to close/discard_folder

@dataclass(frozen=True)
class Task:
    """One item of a batch: its input (video file or frame folder) and its final output folder."""

    src: Path
    dst: Path


@dataclass
class Summary:
    done: int = 0
    skipped: int = 0
    failures: list = field(default_factory=list)  # (input path, reason)
    interrupted: bool = False

    def report(self, out=None):
        """Print `done N, skipped M (already done), failed K` and each failure; return the exit status."""
        out = out or sys.stdout
        for path, reason in self.failures:
            print(f"FAILED {path}: {reason}", file=out)
        print(f"done {self.done}, skipped {self.skipped} (already done), failed {len(self.failures)}", file=out)
        if self.interrupted:
            print("interrupted: run the same command again to resume", file=out)
            return 130
        return 1 if self.failures else 0


def default_jobs():
    """CPUs this process may use (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def add_jobs_arg(parser):
    parser.add_argument("--n_jobs", type=job_count, default=default_jobs(),
                        help="worker processes (default: the CPU count; -1 or 0 also mean all CPUs; 1 runs in-process)")


def resolve_jobs(n_jobs):
    return default_jobs() if n_jobs is None or n_jobs <= 0 else n_jobs


def format_duration(seconds):
    """'2h 05m 09s', with days in front past 24 hours (projections of a whole dataset run to days)."""
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    text = f"{rest // 3600}h {rest % 3600 // 60:02d}m {rest % 60:02d}s"
    return f"{days}d {text}" if days else text


def run_cli(main):
    """Run a data tool's main(); a missing input or a malformed split file ends with one clear line
    `error: ...`, status 2 (errors.run_command, shared with the other commands)."""
    return run_command("error", main)


def is_hidden(path):
    return Path(path).name.startswith(".")


def walk_items(root, accept):
    """Sorted `(class_folder_name, item_path)` for every `<root>/<class>/<item>` with accept(item) true.

    Hidden names (our `.<video>.partial-<pid>` folders among them) are never items."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    items = []
    for cls in sorted(p for p in root.iterdir() if p.is_dir() and not is_hidden(p)):
        items.extend((cls.name, p) for p in sorted(cls.iterdir()) if not is_hidden(p) and accept(p))
    return items


def remove_partials(*dsts):
    """Delete the temp folders of these outputs left by a killed or interrupted run (any pid)."""
    by_parent = {}
    for dst in map(Path, dsts):
        by_parent.setdefault(dst.parent, set()).add(dst.name)
    for parent, names in by_parent.items():
        if parent.is_dir():
            for p in parent.iterdir():
                if partial_target(p) in names:
                    shutil.rmtree(p, ignore_errors=True)


def open_folder(dst):
    """The hidden temp folder that becomes `dst`, with `dst`'s unit lock held (runs sharing an output tree,
    such as flow shards, never write one video twice at once); leftovers of earlier runs are deleted first."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    lock = unit_lock(dst).acquire()
    try:
        remove_partials(dst)  # with the lock held, any temp folder of dst is a dead run's
        tmp = partial_path(dst)
        tmp.mkdir()
    except BaseException:
        lock.release()
        raise
    _HELD[dst] = lock
    return tmp


def _release(dst):
    lock = _HELD.pop(Path(dst), None)
    if lock is not None:
        lock.release()


def close_folder(tmp, dst):
    """Rename the finished temp folder (its completion marker written last) to `dst`; the lock goes."""
    try:
        if Path(dst).exists():  # an unfinished folder (older run or the original's tools)
            shutil.rmtree(dst)
        os.replace(tmp, dst)
    finally:
        _release(dst)


def discard_folder(tmp, dst):
    """Give up on `dst`: its temp folder and its lock go."""
    shutil.rmtree(tmp, ignore_errors=True)
    _release(dst)


def remove_dead_partials(dsts):
    """The temp folders of these outputs that no live run is writing (killed workers, an interrupted run),
    removed; an output another run holds is left alone."""
    for dst in map(Path, dsts):
        if dst in _HELD:
            discard_folder(partial_path(dst), dst)
            remove_partials(dst)
            continue
        if not dst.parent.is_dir():
            continue
        try:
            with unit_lock(dst):
                remove_partials(dst)
        except OutputError:  # busy (another run's) or unwritable: leave it
            pass


def build_folder(dst, fill):
    """Produce the folder `dst` all at once: fill(tmp) writes everything into a hidden temp folder (its
    completion marker last) and returns a result, then the folder is renamed to `dst`. A crash leaves only
    the temp folder, which the next run deletes."""
    tmp = open_folder(dst)
    try:
        result = fill(tmp)
        close_folder(tmp, dst)
    except BaseException:
        discard_folder(tmp, dst)
        raise
    return result


def _prepare_process(init):
    """One OpenCV thread per process (processes scale, threads would fight over the same cores), then the
    tool's own initialiser. `--n_jobs 1` gets the same settings in-process."""
    import cv2

    cv2.setNumThreads(1)
    if init is not None:
        init()


def _die_with_parent(parent):
    """A worker ends when its parent does, even by kill -9 (Linux PR_SET_PDEATHSIG), instead of writing on
    into an output no run is watching."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's terminate() is all there is
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _pool_worker_init(init, parent):
    """Pool workers leave Ctrl-C to the parent, which terminates them, and die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    _prepare_process(init)


def _attempt(work, task):
    """Run one task; (task, status, reason): status 'done', 'skipped' (work returned False) or 'failed'."""
    try:
        result = work(task)
    except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch; it is reported
        return task, "failed", failure_reason(task, exc)
    return task, ("skipped" if result is False else "done"), None


def failure_reason(task, exc):
    """The line listed for a failed task: a VideoReadError names the file inside the item when it is not
    the item itself; anything else gives its type and message."""
    if isinstance(exc, VideoReadError):
        return exc.reason if exc.path == str(task.src) else f"{exc.path}: {exc.reason}"
    if isinstance(exc, UserError):  # its message names the file already
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class Progress:
    """The summary and progress bar of one batch: finished outputs are skipped up front, then every
    started task is recorded once (thread-safe) as done, skipped or failed. `failures`: (path, reason)
    of items refused before the batch, listed with the others."""

    def __init__(self, tasks, desc, skip, failures=()):
        self.summary = Summary(failures=list(failures))
        self.todo = []
        for task in tasks:
            if skip is not None and skip(task.dst):
                self.summary.skipped += 1
            else:
                self.todo.append(task)
        self.pending = set(self.todo)
        self.lock = threading.Lock()
        self.bar = tqdm(total=len(self.todo), desc=desc, unit="video", dynamic_ncols=True, file=sys.stderr)

    def record(self, task, status, reason=None):
        with self.lock:
            self.pending.discard(task)
            if status == "failed":
                self.summary.failures.append((str(task.src), reason))
                self.bar.set_postfix(failed=len(self.summary.failures))
            elif status == "skipped":
                self.summary.skipped += 1
            else:
                self.summary.done += 1
            self.bar.update(1)

    def interrupted(self):
        """Ctrl-C: the outputs still pending lose their temp folders; the summary says how to resume."""
        self.summary.interrupted = True
        remove_dead_partials(t.dst for t in self.pending)

    def close(self):
        self.bar.close()
        self.summary.failures.sort()
        return self.summary


def run_batch(tasks, work, *, skip, n_jobs=1, desc="videos", init=None, failures=()):
    """Run work(task) for every task whose output is not finished yet; returns the Summary.

    `skip(task.dst)` true -> counted as skipped without starting it (pass skip=None to start every task;
    work may then return False to say it found nothing to do)."""
    progress = Progress(tasks, desc, skip, failures)
    todo = progress.todo
    n_jobs = min(resolve_jobs(n_jobs), max(len(todo), 1))
    pool = None
    try:
        if n_jobs <= 1:
            _prepare_process(init)
            for task in todo:
                progress.record(*_attempt(work, task))
        else:
            ctx = multiprocessing.get_context("spawn")  # no forked OpenCV thread state
            pool = ctx.Pool(n_jobs, initializer=_pool_worker_init, initargs=(init, os.getpid()))
            for result in pool.imap_unordered(partial(_attempt, work), todo):
                progress.record(*result)
            pool.close()
            pool.join()
    except KeyboardInterrupt:
        if pool is not None:
            pool.terminate()
        progress.interrupted()  # removes what the killed workers had half-written
    return progress.close()
