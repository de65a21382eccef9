"""Per-video features of any I3D endpoint: one `.npy` per video at <out>/<class>/<video>.npy.

A video's feature is the endpoint's output averaged over space, (T', channels) for the whole video, or
with a window, one row per window averaged over space and time, (windows, channels); with a window the
1-based frame indices of every window are written beside it, <video>.frames.npy int64 (windows, window).
Two streams (an rgb and a flow checkpoint, video files) decode each video once, compute its flow once and
give (rows, 2048) = [rgb 1024 | flow 1024] at Mixed_5c. Frame folders are read as the loader reads them
(centre crop, no resize); video files as predict.py reads them (frames and flow made as the data tools
make them), streamed window by window. Runs like the data tools: resumable (a finished .npy is skipped,
each written under a temp name), a worker pool with a progress bar and a failure list.
"""
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path

import numpy as np

from src.common.atomic import atomic_output, exclusive_output
from src.common.errors import UserError
from src.data.layout import FLOW_BOUND
from src.prep.frames import video_tasks
from src.prep.jobs import Task, run_batch, walk_items

FEATURE_SUFFIX = ".npy"
FRAMES_SUFFIX = ".frames.npy"  # beside the features: the frame indices of each window
_NETWORK = {}  # the feature networks of this process, {stream: forward}, loaded once by the pool's initialiser


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
    stride: int = 0   # 0: the window
    batch_size: int = 8
    size: int = 240           # video files: short side of the frames, as generate_rgb_jpgs
    bound: float = FLOW_BOUND  # video files: flow bound, as convert_rgb_to_flow
    device_target: str = None
    context: str = "gr"
    flow_checkpoint: str = None  # two streams: `checkpoint` is the rgb one (mode rgb), this the flow one
    allow_truncated: bool = False
    flow_backend: str = "opencv"  # video files: the TV-L1 (opencv, torch, auto), as convert_rgb_to_flow --backend
    flow_device: str = None

    @property
    def checkpoints(self):
        """{stream: checkpoint}, in column order (rgb first)."""
        if self.flow_checkpoint:
            return {"rgb": self.checkpoint, "flow": self.flow_checkpoint}
        return {self.mode: self.checkpoint}


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


def video_frames(src, options):
    """The frame stream of one video file or frame folder for the options' streams."""
    src = Path(src)
    if src.is_dir():
        from src.infer.sources import folder_frames

        return folder_frames(src, options.mode, options.crop)
    from src.infer.video_streams import flow_pairs_for, iter_stream_frames

    pairs, batch_pairs = flow_pairs_for(options.flow_backend, options.flow_device) if "flow" in options.checkpoints \
        else (None, 0)
    return iter_stream_frames(src, tuple(options.checkpoints), options.size, options.crop, options.bound,
                              allow_truncated=options.allow_truncated, flow_pairs=pairs, batch_pairs=batch_pairs)


def stream_features(forwards, frames, window=0, stride=0, batch_size=8):
    """(features, frame indices): (T', C) of every stream side by side for the whole stream (indices None),
    or (windows, C) and (windows, window) with a window, streamed window by window."""
    from src.infer.windows import batch_clips, batches, sliding

    rows, indices = [], []
    for batch in batches(sliding(frames, window, stride or window), batch_size if window else 1):
        parts = [pooled(forward(batch_clips(batch, s)), over_time=bool(window)) for s, forward in forwards.items()]
        rows.append(np.concatenate(parts, axis=-1))
        indices += [w.frames for w in batch]
    if not window:
        return rows[0][0], None
    return np.concatenate(rows), np.stack(indices)


def load_network(options):
    """Pool initialiser: the feature networks, once per process. A pool worker is a fresh process and sets
    MindSpore up as extract_features.py did in the parent (which may already have run kernels, and then
    cannot be set up again)."""
    import multiprocessing

    from src.backend.runtime import configure
    from src.evaluate.video_logits import network_forward

    if multiprocessing.parent_process() is not None:
        configure(options.device_target, options.context)
    _NETWORK.clear()
    for stream, path in options.checkpoints.items():
        flag = f"--{stream}_checkpoint" if options.flow_checkpoint else "--checkpoint"
        _NETWORK[stream] = network_forward(feature_network(path, options.endpoint, options.head, flag))


def save_npy(path, array):
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


def frames_path(features_path):
    """<video>.frames.npy beside <video>.npy."""
    path = Path(features_path)
    return path.with_name(path.name[:-len(FEATURE_SUFFIX)] + FRAMES_SUFFIX)


def write_features(task, options):
    features, indices = stream_features(_NETWORK, video_frames(task.src, options), options.window, options.stride,
                                        options.batch_size)
    task.dst.parent.mkdir(parents=True, exist_ok=True)
    if indices is not None:  # first: the features file, written last, marks the video done
        save_npy(frames_path(task.dst), indices.astype(np.int64))
    save_npy(task.dst, features.astype(np.float32))


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


def check_options(options, ext):
    """Refuse, before any work, what cannot give features: checkpoints that are not the streams they are
    given as, a stride without a window, two streams from frame folders, frames too small for the crop."""
    for stream, path in options.checkpoints.items():
        flag = f"--{stream}_checkpoint" if options.flow_checkpoint else "--checkpoint"
        mode = checkpoint_mode(path, flag)
        if mode != stream:
            given = f"--mode is {stream}" if not options.flow_checkpoint else f"it is given as {flag}"
            raise FeatureSetupError(f"{flag} {path} is a {mode} model but {given}")
    if options.window < 0 or options.stride < 0:
        raise FeatureSetupError(f"--window {options.window} / --stride {options.stride}: must not be negative")
    if options.stride and not options.window:
        raise FeatureSetupError(f"--stride {options.stride} needs --window (without one, each video is one pass)")
    if options.flow_checkpoint and not ext:
        raise FeatureSetupError("two streams (--rgb_checkpoint with --flow_checkpoint) read video files: give --ext")
    if ext and options.size < options.crop:
        raise FeatureSetupError(f"--size {options.size} is smaller than --crop {options.crop}: the frames would "
                                "not hold the crop")


def check_first_frames(tasks, options):
    """Frame folders are not rescaled: the first one's frames must hold the crop (one line, before any work)."""
    from src.data.loader.spatial_transforms import check_fits
    from src.infer.sources import frame_size

    first = next((t.src for t in tasks if Path(t.src).is_dir()), None)
    if first is not None:
        check_fits(*frame_size(first), options.crop, first, "--crop")


def extract_features(input_root, out_root, options, ext=None, n_jobs=1):
    """Features of every video under input_root that has none yet; returns the jobs Summary."""
    from src.infer.outputs import refuse_overlap

    check_options(options, ext)
    refuse_overlap(out_root, "OUT", {"INPUT": input_root})
    tasks, failures = feature_tasks(input_root, out_root, ext)
    if not tasks:
        what = f"<class>/<video>.{ext} files" if ext else "<class>/<video> frame folders"
        raise FeatureSetupError(f"{input_root}: no {what}")
    check_first_frames(islice(tasks, 1), options)
    desc = "features (decode + TV-L1 + 2 networks)" if options.flow_checkpoint else "features"
    with exclusive_output(out_root, "extract_features"):  # a second run into OUT stops at once
        return run_batch(tasks, partial(write_features, options=options), skip=lambda dst: Path(dst).is_file(),
                         n_jobs=n_jobs, desc=desc, init=partial(load_network, options), failures=failures)
