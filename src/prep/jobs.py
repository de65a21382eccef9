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
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from tqdm import tqdm

from src.atomic import partial_path, partial_target
from src.errors import UserError, VideoReadError

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
    parser.add_argument("--n_jobs", type=int, default=default_jobs(),
                        help="worker processes (default: the CPU count; -1 or 0 also mean all CPUs; 1 runs in-process)")


def resolve_jobs(n_jobs):
    return default_jobs() if n_jobs is None or n_jobs <= 0 else n_jobs


def run_cli(main):
    """Run a tool's main(); a missing input or a malformed split file ends with one clear line, status 2."""
    try:
        return main()
    except (UserError, FileNotFoundError, NotADirectoryError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


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


def build_folder(dst, fill):
    """Produce the folder `dst` all at once: fill(tmp) writes everything into a hidden temp folder (its
    completion marker last) and returns a result, then the folder is renamed to `dst`. A crash leaves only
    the temp folder, which the next run deletes."""
    dst = Path(dst)
    remove_partials(dst)
    tmp = partial_path(dst)
    tmp.mkdir(parents=True)
    try:
        result = fill(tmp)
        if dst.exists():  # an unfinished folder (older run or the original's tools)
            shutil.rmtree(dst)
        os.replace(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


def _prepare_process(init):
    """One OpenCV thread per process (processes scale, threads would fight over the same cores), then the
    tool's own initialiser. `--n_jobs 1` gets the same settings in-process."""
    import cv2

    cv2.setNumThreads(1)
    if init is not None:
        init()


def _pool_worker_init(init):
    """Pool workers leave Ctrl-C to the parent, which terminates them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _prepare_process(init)


def _attempt(work, task):
    """Run one task; (task, status, reason): status 'done', 'skipped' (work returned False) or 'failed'."""
    try:
        result = work(task)
    except VideoReadError as exc:  # name the file inside the item when it is not the item itself
        return task, "failed", exc.reason if exc.path == str(task.src) else f"{exc.path}: {exc.reason}"
    except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch; it is reported
        return task, "failed", f"{type(exc).__name__}: {exc}"
    return task, ("skipped" if result is False else "done"), None


def run_batch(tasks, work, *, skip, n_jobs=1, desc="videos", init=None):
    """Run work(task) for every task whose output is not finished yet; returns the Summary.

    `skip(task.dst)` true -> counted as skipped without starting it (pass skip=None to start every task;
    work may then return False to say it found nothing to do)."""
    summary = Summary()
    todo = []
    for task in tasks:
        if skip is not None and skip(task.dst):
            summary.skipped += 1
        else:
            todo.append(task)
    n_jobs = min(resolve_jobs(n_jobs), max(len(todo), 1))
    bar = tqdm(total=len(todo), desc=desc, unit="video", dynamic_ncols=True, file=sys.stderr)

    pending = set(todo)

    def record(task, status, reason):
        pending.discard(task)
        if status == "failed":
            summary.failures.append((str(task.src), reason))
            bar.set_postfix(failed=len(summary.failures))
        elif status == "skipped":
            summary.skipped += 1
        else:
            summary.done += 1
        bar.update(1)

    pool = None
    try:
        if n_jobs <= 1:
            _prepare_process(init)
            for task in todo:
                record(*_attempt(work, task))
        else:
            ctx = multiprocessing.get_context("spawn")  # no forked OpenCV thread state
            pool = ctx.Pool(n_jobs, initializer=_pool_worker_init, initargs=(init,))
            for result in pool.imap_unordered(partial(_attempt, work), todo):
                record(*result)
            pool.close()
            pool.join()
    except KeyboardInterrupt:
        summary.interrupted = True
        if pool is not None:
            pool.terminate()
            remove_partials(*(t.dst for t in pending))  # what the killed workers had half-written
    finally:
        bar.close()
    summary.failures.sort()
    return summary

