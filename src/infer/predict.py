"""predict.py's work: flags -> one immutable plan -> networks over the input's windows -> printout, files.

Without --window the whole input is one window (the top-k of the clip, as before); with --window W
(or --timeline / --out_video, whose window defaults to the checkpoint's recorded clip length) the
input streams through in windows of W frames every --stride frames, in bounded memory, with a progress
bar, and each window is predicted: a CSV and a picture (--timeline), an annotated video (--out_video),
the logits (--save_logits).
"""
import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.model.arch import NAMES as ARCH_NAMES
from src.common.errors import UserError
from src.common.flag_types import non_negative_int, positive_float, positive_int
from src.infer import sources
from src.infer.models import recorded_sizes
from src.infer.outputs import output_file
from src.infer.windows import batch_clips, batches, sliding
from src.infer.inference import top_k_lines
from src.data.layout import FLOW_BOUND, count_frames, mode_of_channels
from src.data.loader.spatial_transforms import check_fits
from src.backend.runtime import DEVICE_TARGETS

DEFAULT_CROP = 224
DEFAULT_WINDOW = 64  # the training clip length; a checkpoint's record may say otherwise
RESIZE_PER_CROP = 256 / 224  # DeepMind's preprocessing: short side 256 for a 224 crop


def build_parser(description):
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="video file, GIF, frame folder, or .npy (T,H,W,C) in [-1,1]")
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--checkpoint", help="MindSpore checkpoint (see pt2ckpt.py)")
    model.add_argument("--mindir", help="MINDIR written by export.py (its --head and shape are fixed in it)")
    model.add_argument("--rgb_checkpoint", help="two streams on a video file: the rgb checkpoint (with --flow_checkpoint)")
    p.add_argument("--flow_checkpoint", help="two streams on a video file: the flow checkpoint")
    p.add_argument("--mode", choices=("rgb", "flow"), default=None, help="default: the checkpoint's / MINDIR's")
    p.add_argument("--labels", help="class names, one per line (default: the names the checkpoint records, else the "
                                    "labels.txt of the run folder the checkpoint is in)")
    p.add_argument("--top_k", type=positive_int, default=5)
    p.add_argument("--num_frames", type=non_negative_int, default=0, help="use only the first N frames (0 = all)")
    p.add_argument("--crop", type=positive_int, default=None,
                   help="centre crop size (default: the spatial size the checkpoint records, else 224; a MINDIR's)")
    p.add_argument("--resize", type=positive_int, default=None,
                   help="short side before the centre crop (default: crop x 256/224, i.e. 256 for 224)")
    p.add_argument("--size", type=positive_int, default=240,
                   help="two streams: short side of the frames, as generate_rgb_jpgs --size (flow is computed there)")
    p.add_argument("--bound", type=positive_float, default=FLOW_BOUND, help="two streams: flow clip bound, as convert_rgb_to_flow")
    p.add_argument("--flow_backend", choices=("auto", "opencv", "torch"), default="opencv",
                   help="two streams: TV-L1 of OpenCV, or the project's torch TV-L1 (same flow; auto = torch on a GPU)")
    p.add_argument("--flow_device", help="two streams, --flow_backend torch: cpu, cuda or cuda:N")
    p.add_argument("--arch", choices=ARCH_NAMES, default=None, help="with checkpoints (default: the checkpoint's)")
    p.add_argument("--head", choices=("avg", "max"), default=None, help="with checkpoints (default: the checkpoint's)")
    p.add_argument("--window", type=positive_int, default=None,
                   help="predict every window of W frames (default: the whole input at once; with --timeline or "
                        "--out_video, the clip length the checkpoint records, else 64; a MINDIR's)")
    p.add_argument("--stride", type=positive_int, default=None, help="frames between window starts (default: --window)")
    p.add_argument("--batch_size", type=positive_int, default=4, help="windows per forward pass")
    p.add_argument("--timeline", help="write one row per window to this CSV, and the timeline picture beside it (.png)")
    p.add_argument("--out_video", help="write the input with each window's top-1 and top-3 drawn on it (.mp4 or .avi)")
    p.add_argument("--save_logits", help="write the logits as .npy, exactly at this path (.npy added only if it has no "
                                         "suffix): (classes,) for one stream, (3, classes) rgb, flow, joint for two; with "
                                         "--window one such row per window first")
    p.add_argument("--allow_truncated", action="store_true",
                   help="use the frames that decode from a video cut short (default: refuse it, as generate_rgb_jpgs)")
    p.add_argument("--device_target", default=None, choices=DEVICE_TARGETS,
                   help="default: the device the installed MindSpore runs on")
    p.add_argument("--context", default="gr", choices=("gr", "py"))
    return p


@dataclass(frozen=True)
class PredictPlan:
    """Everything a prediction run needs, resolved once from the flags and the models' records."""

    input: str
    streams: tuple             # ("rgb",), ("flow",) or ("rgb", "flow")
    checkpoints: tuple         # ((stream, path, flag), ...); empty with a MINDIR
    mindir: str
    labels: str
    top_k: int
    num_frames: int
    crop: int
    resize: int
    size: int
    bound: float
    flow_backend: str
    flow_device: str
    arch: str
    head: str
    window: int                # 0: the whole input as one window
    stride: int
    batch_size: int
    timeline: str              # CSV path or None
    timeline_png: str
    out_video: str
    save_logits: str
    allow_truncated: bool
    device_target: str
    context: str

    @property
    def two_streams(self):
        return len(self.streams) == 2


def model_facts(args):
    """(streams, checkpoints, recorded crop, recorded clip length) of the model flags, read without building
    a network: a checkpoint's record, a MINDIR's fixed input shape."""
    from src.checkpoints.checkpoint import open_checkpoint, settle

    if args.mindir:
        from src.deploy.mindir_runner import read_io_shapes

        (_, channels, t, h, _), _ = read_io_shapes(args.mindir)
        mode = args.mode or mode_of_channels(channels)
        return (mode,), (), h, t
    if args.rgb_checkpoint:
        if not args.flow_checkpoint:
            raise UserError("--rgb_checkpoint needs --flow_checkpoint")
        checkpoints = (("rgb", args.rgb_checkpoint, "--rgb_checkpoint"), ("flow", args.flow_checkpoint, "--flow_checkpoint"))
    else:
        if args.flow_checkpoint:
            raise UserError("--flow_checkpoint goes with --rgb_checkpoint (for one flow model: --checkpoint B --mode flow)")
        record = open_checkpoint(args.checkpoint, "--checkpoint")[1]
        mode = settle(record, args.checkpoint, "--checkpoint", mode=args.mode)["mode"]  # --mode must agree
        checkpoints = ((mode, args.checkpoint, "--checkpoint"),)
    records = [open_checkpoint(path, flag)[1] for _, path, flag in checkpoints]
    return (tuple(s for s, _, _ in checkpoints), checkpoints) + recorded_sizes(records)


def make_plan(args, say=print):
    """The plan of a parsed command line (the namespace is only read). Bad flags, outputs and frames too
    small for the crop are UserErrors here, before any network is built or frame decoded."""
    streams, checkpoints, rec_crop, rec_clip = model_facts(args)
    crop = args.crop or rec_crop or DEFAULT_CROP
    resize = args.resize or int(round(crop * RESIZE_PER_CROP))
    two = len(streams) == 2
    if two and (sources.is_npy(args.input) or Path(args.input).is_dir()):
        raise UserError(f"{args.input}: two streams need a video file (the flow is computed from it)")
    if two and args.size < crop:
        raise UserError(f"--size {args.size} is smaller than --crop {crop}: the frames would not hold the crop")
    if not two and streams[0] == "rgb" and not sources.is_npy(args.input) and resize < crop:
        raise UserError(f"--resize {resize} is smaller than --crop {crop}: the frames would not hold the crop")
    if not two and (streams[0] == "flow" or sources.is_npy(args.input)):
        if sources.is_npy(args.input):  # taken as stored: its shape and values are checked up front
            sources.read_npy_clip(args.input, streams[0])
        else:  # not rescaled: the frames themselves must hold the crop
            check_fits(*sources.frame_size(args.input), crop, args.input, "--crop")
    else:
        sources.frame_size(args.input)  # an unreadable input is found here, before the networks load
    if Path(args.input).is_dir():
        count_frames(args.input)  # a gap in a frame folder: an error naming the first missing frame, up front
    windowed = args.window or args.stride or args.timeline or args.out_video
    window = (args.window or rec_clip or DEFAULT_WINDOW) if windowed else 0
    if args.out_video and (sources.is_npy(args.input) or streams == ("flow",)):
        raise UserError(f"--out_video needs a video, GIF or rgb frame folder as input, not {args.input}")
    inputs = {"input": args.input, "--checkpoint": args.checkpoint, "--rgb_checkpoint": args.rgb_checkpoint,
              "--flow_checkpoint": args.flow_checkpoint, "--mindir": args.mindir, "--labels": args.labels}
    timeline = output_file(args.timeline, "--timeline", ".csv", inputs, say=say)
    png = str(Path(timeline).with_suffix(".png")) if timeline else None
    if png:
        output_file(png, "--timeline (its picture)", ".png", inputs, say=say)
    from src.infer.annotate import VIDEO_SUFFIXES

    out_video = output_file(args.out_video, "--out_video", ".mp4", inputs, allowed=VIDEO_SUFFIXES, say=say)
    save_logits = output_file(args.save_logits, "--save_logits", ".npy", inputs, say=say)
    written = [p for p in (timeline, png, out_video, save_logits) if p]
    if len({str(Path(p).resolve()) for p in written}) < len(written):
        raise UserError(f"two outputs share one path: {', '.join(written)}")
    return PredictPlan(
        input=args.input, streams=streams, checkpoints=checkpoints, mindir=args.mindir, labels=args.labels,
        top_k=args.top_k, num_frames=args.num_frames, crop=crop, resize=resize, size=args.size, bound=args.bound,
        flow_backend=args.flow_backend, flow_device=args.flow_device, arch=args.arch, head=args.head,
        window=window, stride=(args.stride or window) if window else 0, batch_size=args.batch_size,
        timeline=timeline, timeline_png=png, out_video=out_video, save_logits=save_logits,
        allow_truncated=args.allow_truncated, device_target=args.device_target, context=args.context)


def load_networks(plan):
    from src.infer.models import checkpoint_networks, mindir_network

    if plan.mindir:
        return mindir_network(plan.mindir, plan.streams[0], plan.labels)
    return checkpoint_networks({s: (path, flag) for s, path, flag in plan.checkpoints}, plan.arch, plan.head,
                               plan.labels)


def frames_of(plan):
    """The input's frame stream for the plan's streams (first --num_frames frames when given)."""
    from itertools import islice

    if plan.two_streams:
        from src.infer.video_streams import flow_pairs_for, iter_stream_frames

        pairs, batch_pairs = flow_pairs_for(plan.flow_backend, plan.flow_device)
        return iter_stream_frames(plan.input, plan.streams, plan.size, plan.crop, plan.bound,
                                  allow_truncated=plan.allow_truncated, num_frames=plan.num_frames,
                                  flow_pairs=pairs, batch_pairs=batch_pairs)
    frames = sources.input_frames(plan.input, plan.streams[0], plan.resize, plan.crop, plan.allow_truncated)
    return islice(frames, plan.num_frames or None)


def progress_bar(plan):
    """A tqdm bar over the input's frames (decoding, flow and network together)."""
    from tqdm import tqdm

    total = sources.frame_count(plan.input)
    total = min(total, plan.num_frames) if plan.num_frames and total else (plan.num_frames or total or None)
    what = "frames (decode + TV-L1 flow + network)" if plan.two_streams else "frames (decode + network)"
    return tqdm(total=total, desc=what, unit="frame", dynamic_ncols=True, file=sys.stderr)


def counted(frames, bar):
    """Frames passed through, each ticking the bar."""
    for frame in frames:
        bar.update(1)
        yield frame


@dataclass(frozen=True)
class Prediction:
    """What a run found: windows [(start, end)], {stream: logits (windows, classes)}, clip shape, frames read."""

    spans: list
    logits: dict
    clip_shape: tuple
    n_frames: int


def predict_windows(plan, networks):
    """Run the networks over every window of the input's frame stream."""
    spans, logits, shape = [], {}, None
    bar = progress_bar(plan)
    stream = counted(frames_of(plan), bar)
    try:
        for batch in batches(sliding(stream, plan.window, plan.stride), plan.batch_size if plan.window else 1):
            clips = {s: batch_clips(batch, s) for s in networks.streams}
            if shape is None:  # a MINDIR runs its exported T frames of a longer clip (fit_clip)
                shape = clips[networks.streams[0]].shape[1:]
                shape = shape if networks.fixed_clip is None else (shape[0], networks.fixed_clip[1], *shape[2:])
            for s, out in networks.logits(clips).items():
                logits.setdefault(s, []).append(np.asarray(out, np.float32))
            spans += [(w.start, w.end) for w in batch]
            bar.set_postfix(windows=len(spans))
    finally:
        bar.close()
    if not spans:
        raise UserError(f"{plan.input}: no frames")
    return Prediction(spans, {s: np.concatenate(v) for s, v in logits.items()}, shape, int(bar.n))


def print_top_k(plan, logits, labels, clip_shape, stream):
    _, t, h, w = clip_shape
    print(f"top-{plan.top_k} for {plan.input} ({t} frames, {w}x{h}, {stream}):")
    for line in top_k_lines(logits, labels, plan.top_k):
        print(line)


def stretch_lines(timeline, plan):
    """One line per stretch of windows with the same top-1: its time span, the class, its mean probability."""
    from src.infer.timeline import class_name, stretches

    lines = []
    for first, last, c in stretches(list(timeline.top1)):
        start, end = timeline.seconds(timeline.starts[first]), timeline.seconds(timeline.ends[last] + 1)
        score = timeline.probs[first:last + 1, c].mean()
        lines.append(f"{start:7.2f}s - {end:7.2f}s  {class_name(timeline.labels, c)}  (mean prob {score:.3f}, "
                     f"windows {first}-{last})")
    return lines


def report_windows(plan, networks, prediction):
    """The timeline files and the annotated video of a windowed run, and a summary printed per stretch."""
    from src.infer.annotate import input_fps, write_annotated
    from src.infer.timeline import Timeline, draw, write_csv

    fps = input_fps(plan.input)
    timeline = Timeline.of(prediction.spans, prediction.logits[networks.answer], fps, networks.labels)
    _, t, h, w = prediction.clip_shape
    print(f"{len(prediction.spans)} windows of {t} frames ({w}x{h}, {networks.answer}) every {plan.stride} frames "
          f"over {prediction.n_frames} frames of {plan.input}:")
    for line in stretch_lines(timeline, plan):
        print(line)
    if plan.timeline:
        write_csv(timeline, plan.timeline, plan.top_k)
        draw(timeline, plan.timeline_png, title=f"{Path(plan.input).name}: {t}-frame windows every {plan.stride} "
                                                f"frames ({networks.answer})")
        print(f"timeline: {plan.timeline} and {plan.timeline_png}")
    if plan.out_video:
        n = write_annotated(plan.input, plan.out_video, timeline, prediction.n_frames, plan.allow_truncated)
        print(f"annotated video: {plan.out_video} ({n} frames at {fps:g} fps)")


def write_logits(plan, networks, prediction):
    """The logits at exactly --save_logits, atomically (see the --save_logits help for the shapes)."""
    from src.common.atomic import atomic_output

    order = ("rgb", "flow", "joint") if plan.two_streams else networks.streams
    rows = np.stack([prediction.logits[s] for s in order], axis=1)  # (windows, streams, classes)
    rows = rows[:, 0] if len(order) == 1 else rows
    out = rows if plan.window else rows[0]
    with atomic_output(plan.save_logits) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, out.astype(np.float32))


def run(plan):
    """Predict as planned; returns the Prediction."""
    networks = load_networks(plan)
    prediction = predict_windows(plan, networks)
    if plan.window:
        report_windows(plan, networks, prediction)
    else:
        order = ("rgb", "flow", "joint") if plan.two_streams else networks.streams
        for stream in order:
            print_top_k(plan, prediction.logits[stream][0], networks.labels, prediction.clip_shape, stream)
    if plan.save_logits:
        write_logits(plan, networks, prediction)
    return prediction


def main(argv, description):
    """predict.py: parse, plan, configure MindSpore, run; a user error is one line and exit status 2."""
    from src.backend.runtime import configure

    args = build_parser(description).parse_args(argv)
    try:
        plan = make_plan(args)
        configure(plan.device_target, plan.context)
        run(plan)
    except (UserError, ValueError, OSError) as exc:
        print(f"predict: {exc}", file=sys.stderr)
        return 2
    return 0

