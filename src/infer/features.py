"""Per-video features of any I3D endpoint: one `.npy` per video at <out>/<class>/<video>.npy.

A video's feature is the endpoint's output averaged over space, (T', channels) for the whole video, or
with a window, one row per window averaged over space and time, (windows, channels). Frame folders are
read as the loader reads them (centre crop, no resize); video files as predict.py reads them (frames
and flow made as the data tools make them). Runs like the data tools: resumable (a finished .npy is
skipped, each written under a temp name), a worker pool with a progress bar and a failure list.
"""
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from src.common.atomic import atomic_output, exclusive_output
from src.common.errors import UserError
from src.data.layout import FLOW_BOUND, count_frames
from src.data.loader.clip_reader import load_clip
from src.data.loader.temporal_sampling import all_frames, sliding_windows
from src.prep.frames import video_tasks
from src.prep.jobs import Task, run_batch, walk_items

FEATURE_SUFFIX = ".npy"
_NETWORK = {}  # the feature network of this process, loaded once by the pool's initialiser


class FeatureSetupError(UserError, ValueError):
    """A flag or file that makes feature extraction impossible; the message names it."""


@dataclass(frozen=True)
class FeatureOptions:
    """What every worker needs to turn one video into its feature array (picklable for the pool)."""

    checkpoint: str
    mode: str
    endpoint: str = "Mixed_5c"
    head: str = None  # default: the checkpoint's
    crop: int = 224
    window: int = 0
    stride: int = 0
    batch_size: int = 8
    size: int = 240           # video files: short side of the frames, as generate_rgb_jpgs
    bound: float = FLOW_BOUND  # video files: flow bound, as convert_rgb_to_flow
    device_target: str = None
    context: str = "gr"


def checkpoint_mode(path, flag="--checkpoint"):
    """The stream (rgb/flow) of a checkpoint, read without building a network."""
    from src.checkpoints.checkpoint import open_checkpoint

    return open_checkpoint(path, flag)[1]["mode"]


def feature_network(checkpoint, endpoint="Mixed_5c", head=None, flag="--checkpoint"):
    """The checkpoint's network (its recorded arch/head) truncated at `endpoint`, loaded, in eval mode."""
    from src.checkpoints.checkpoint import load_recorded
    from src.model.i3d import VALID_ENDPOINTS

    if endpoint not in VALID_ENDPOINTS:
        raise FeatureSetupError(f"--endpoint {endpoint}: not an I3D endpoint ({', '.join(VALID_ENDPOINTS)})")
    net, _ = load_recorded(checkpoint, flag, head=head, final_endpoint=endpoint)
    net.set_train(False)
    return net


def pooled(output, over_time):
    """(N, C, T', H', W') -> (N, T', C) averaged over space, or (N, C) over space and time; logits pass through."""
    output = np.asarray(output)
    if output.ndim == 2:
        return output
    return output.mean(axis=(2, 3, 4)) if over_time else output.mean(axis=(3, 4)).transpose(0, 2, 1)


def clip_features(forward, clip, window=0, stride=0, batch_size=8):
    """Features of one uint8 clip (C, T, H, W): (T', C) for the whole clip, (windows, C) with a window."""
    if not window:
        return pooled(forward(clip[None]), over_time=False)[0]
    windows = np.stack([clip[:, w - 1] for w in sliding_windows(clip.shape[1], window, stride or window)])
    rows = [pooled(forward(windows[i:i + batch_size]), over_time=True) for i in range(0, len(windows), batch_size)]
    return np.concatenate(rows)


def read_video_clip(src, options):
    """The uint8 clip of a frame folder (all frames, centre crop) or a video file (frames/flow as the tools make them)."""
    src = Path(src)
    if src.is_dir():
        return load_clip(src, all_frames(count_frames(src)), options.mode, options.crop)
    from src.infer.video_streams import video_clips

    return video_clips(src, (options.mode,), options.size, options.crop, options.bound)[options.mode]


def load_network(options):
    """Pool initialiser: one feature network per process. A pool worker is a fresh process and sets
    MindSpore up as extract_features.py did in the parent (which may already have run kernels, and then
    cannot be set up again)."""
    import multiprocessing

    from src.backend.runtime import configure
    from src.evaluate.video_logits import network_forward

    if multiprocessing.parent_process() is not None:
        configure(options.device_target, options.context)
    _NETWORK["forward"] = network_forward(feature_network(options.checkpoint, options.endpoint, options.head))


def write_features(task, options):
    features = clip_features(_NETWORK["forward"], read_video_clip(task.src, options), options.window, options.stride,
                             options.batch_size).astype(np.float32)
    task.dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(task.dst) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, features)


def feature_tasks(input_root, out_root, ext=None):
    """(tasks, failures): a task per `<input_root>/<class>/<video>` frame folder, or per `<class>/<video>.<ext>`
    file with ext (videos that would share an output are failures, as in generate_rgb_jpgs); output
    `<out_root>/<class>/<video>.npy`."""
    if ext:
        tasks, failures = video_tasks(input_root, out_root, ext)
    else:
        items = walk_items(input_root, lambda p: p.is_dir())
        tasks, failures = [Task(p, Path(out_root) / cls / p.name) for cls, p in items], []
    return [Task(t.src, t.dst.with_name(t.dst.name + FEATURE_SUFFIX)) for t in tasks], failures


def extract_features(input_root, out_root, options, ext=None, n_jobs=1):
    """Features of every video under input_root that has none yet; returns the jobs Summary."""
    mode = checkpoint_mode(options.checkpoint)
    if mode != options.mode:
        raise FeatureSetupError(f"--checkpoint {options.checkpoint} is a {mode} model but --mode is {options.mode}")
    if options.window < 0 or options.stride < 0:
        raise FeatureSetupError(f"--window {options.window} / --stride {options.stride}: must not be negative")
    tasks, failures = feature_tasks(input_root, out_root, ext)
    if not tasks:
        what = f"<class>/<video>.{ext} files" if ext else "<class>/<video> frame folders"
        raise FeatureSetupError(f"{input_root}: no {what}")
    with exclusive_output(out_root, "extract_features"):  # a second run into OUT stops at once
        return run_batch(tasks, partial(write_features, options=options), skip=lambda dst: Path(dst).is_file(),
                         n_jobs=n_jobs, desc="features", init=partial(load_network, options), failures=failures)
