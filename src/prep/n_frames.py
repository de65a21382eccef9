"""(Re)write the `n_frames` of every folder of an rgb or flow tree from its frames (generate_n_frames).

A flow frame is two files (x and y), so files are not simply counted: rgb and flow frames are told
apart and the indices must run 1..n without a gap.
"""
from src.common.atomic import exclusive_output
from src.common.errors import VideoReadError
from src.data.layout import count_frames, read_n_frames, write_n_frames
from src.prep.jobs import Task, run_batch, walk_items

def update_n_frames(folder):
    """Write the correct count; False (nothing written) when `n_frames` already holds it."""
    n = count_frames(folder)
    try:
        if read_n_frames(folder) == n:
            return False
    except (OSError, VideoReadError):
        pass
    write_n_frames(folder, n)
    return True


def _update_task(task):
    return update_n_frames(task.src)


def generate_n_frames(root, n_jobs=1):
    """(Re)write `n_frames` in every `<root>/<class>/<video>` folder; folders already right count as skipped."""
    tasks = [Task(p, p) for _, p in walk_items(root, lambda p: p.is_dir())]
    if not tasks:
        raise FileNotFoundError(f"no <class>/<video> folders under {root}")
    with exclusive_output(root, "generate_n_frames"):
        return run_batch(tasks, _update_task, n_jobs=n_jobs, desc="n_frames", skip=None)
