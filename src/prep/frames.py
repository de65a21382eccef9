"""Video files -> `<dst>/<class>/<video_stem>/image_00001.jpg ...` + `n_frames` (generate_rgb_jpgs).

OpenCV decodes the video in-process (no ffmpeg binary, no shell), so any file name works. Frames are
streamed: one frame in memory at a time.
"""
import math
from functools import partial
from pathlib import Path

import cv2

from src.common.atomic import exclusive_output, refuse_overlap
from src.common.errors import VideoReadError
from src.common.flag_types import checked, frame_rate
from src.data.layout import frame_name, is_finished, write_n_frames
from src.data.media import complete_video_frames, resize_short_side
from src.prep.jobs import Task, build_folder, run_batch, walk_items


JPEG_QUALITY = 95


def encode_rgb_jpeg(rgb, quality=JPEG_QUALITY):
    """The JPEG bytes of one RGB frame as the frame tree stores it (cv2 encodes BGR, so convert first:
    the file must decode to the true colours)."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError("cv2.imencode failed on an rgb frame")
    return data.tobytes()


def write_rgb_jpeg(path, rgb, quality=JPEG_QUALITY):
    Path(path).write_bytes(encode_rgb_jpeg(rgb, quality))


def video_fps(video):
    """The frame rate the container declares (0.0 when it does not say)."""
    cap = cv2.VideoCapture(str(video))
    try:
        return float(cap.get(cv2.CAP_PROP_FPS)) if cap.isOpened() else 0.0
    finally:
        cap.release()


def resample(frames, src_fps, fps):
    """Frames at `fps` from frames at `src_fps`, streamed: output k is the source frame on show at time
    k/fps, so frames are repeated (fps up) or dropped (fps down), never blended, and the duration kept."""
    k = 0
    for i, frame in enumerate(frames):
        while int(k * src_fps / fps + 1e-9) == i:
            yield frame
            k += 1


def extract_frames(video, dst, size=240, quality=JPEG_QUALITY, allow_truncated=False, fps=-1):
    """Decode `video` into the frame folder `dst` (at `fps` when > 0); returns the frame count.

    A file that decodes to fewer frames than its header declares is truncated (a cut download) and
    fails unless allow_truncated, which keeps the frames that could be decoded."""

    def fill(tmp):
        frames = complete_video_frames(video, allow_truncated)  # refuses a cut file once it is read to the end
        if fps > 0:
            src_fps = video_fps(video)
            if not (0 < src_fps < math.inf):
                raise VideoReadError(video, f"declares no usable frame rate ({src_fps}), so --fps cannot resample it")
            frames = resample(frames, src_fps, fps)
        n = 0
        for n, rgb in enumerate(frames, 1):
            write_rgb_jpeg(tmp / frame_name(n), resize_short_side(rgb, size), quality)
        write_n_frames(tmp, n)
        return n

    return build_folder(dst, fill)


def _extract_task(task, **options):
    extract_frames(task.src, task.dst, **options)


def video_tasks(src_root, dst_root, ext):
    """(tasks, failures): a task for every `<src_root>/<class>/<name>.<ext>` (extension matched
    case-insensitively). Videos whose output folders would be the same (`a.avi` and `a.AVI`) would
    overwrite each other: the first keeps it, the others are failures naming it."""
    suffix = "." + ext.lower().lstrip(".")
    items = walk_items(src_root, lambda p: p.is_file() and p.suffix.lower() == suffix)
    tasks, failures, owner = [], [], {}
    for cls, path in items:
        dst = Path(dst_root) / cls / path.stem
        if dst in owner:
            failures.append((str(path), f"same output folder {dst} as {owner[dst]}; rename one of them"))
            continue
        owner[dst] = path
        tasks.append(Task(path, dst))
    return tasks, failures


def generate_rgb_jpgs(src_root, dst_root, ext="avi", n_jobs=1, size=240, quality=JPEG_QUALITY,
                      allow_truncated=False, fps=-1):
    """Every video under src_root -> frame folders under dst_root; returns the Summary."""
    fps = checked(frame_rate, "--fps", fps)
    refuse_overlap([("DIR_PATH", src_root)], [("DST_PATH", dst_root)])
    tasks, failures = video_tasks(src_root, dst_root, ext)
    if not tasks:
        raise FileNotFoundError(f"no <class>/<video>.{ext} files under {src_root}")
    work = partial(_extract_task, size=size, quality=quality, allow_truncated=allow_truncated, fps=fps)
    with exclusive_output(dst_root, "generate_rgb_jpgs"):
        return run_batch(tasks, work, skip=is_finished, n_jobs=n_jobs, desc="frames", failures=failures)
