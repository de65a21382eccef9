"""Top-k predictions of an I3D checkpoint or exported MINDIR for one video, GIF, frame folder or .npy clip,
or of both streams for a raw video (rgb frames and TV-L1 flow made on the fly, as the data tools make them).

    python predict.py INPUT (--checkpoint CKPT | --mindir FILE.mindir) [--mode rgb|flow] [--labels FILE]
                      [--top_k 5] [--num_frames N] [--save_logits OUT.npy]
    python predict.py VIDEO --rgb_checkpoint A --flow_checkpoint B [--size 240] [--crop 224] [--bound 20] ...

A checkpoint's record gives the stream, network (--arch, --head) and class names; flags given must agree.

A MINDIR (export.py) has a fixed clip shape: longer clips are cut to its first T frames, shorter
ones and other frame sizes (set --crop to the exported --spatial_size) are an error.
"""
import argparse
import sys

import numpy as np

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.model.arch import NAMES as ARCH_NAMES
from src.checkpoints.checkpoint import check_class_names, load_recorded
from src.common.errors import UserError
from src.infer.inference import load_input, read_labels, top_k_lines, two_stream_logits
from src.data.layout import FLOW_BOUND, mode_of_channels
from src.train.run_folder import labels_beside
from src.deploy.mindir_runner import fit_clip, load_mindir
from src.model.network_input import as_network_input, to_batch
from src.backend.runtime import DEVICE_TARGETS, configure
from src.common.flag_types import non_negative_int, positive_float, positive_int


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    p.add_argument("--resize", type=positive_int, default=256, help="short side before the centre crop")
    p.add_argument("--crop", type=positive_int, default=224, help="centre crop size")
    p.add_argument("--size", type=positive_int, default=240,
                   help="two streams: short side of the frames, as generate_rgb_jpgs --size (flow is computed there)")
    p.add_argument("--bound", type=positive_float, default=FLOW_BOUND, help="two streams: flow clip bound, as convert_rgb_to_flow")
    p.add_argument("--arch", choices=ARCH_NAMES, default=None, help="with checkpoints (default: the checkpoint's)")
    p.add_argument("--head", choices=("avg", "max"), default=None, help="with checkpoints (default: the checkpoint's)")
    p.add_argument("--save_logits", help="write the time-averaged logits (num_classes,) as .npy; two streams: "
                                         "rows rgb, flow, joint (3, num_classes)")
    p.add_argument("--device_target", default=None, choices=DEVICE_TARGETS,
                   help="default: the device the installed MindSpore runs on")
    p.add_argument("--context", default="gr", choices=("gr", "py"))
    args = p.parse_args(argv)
    if args.rgb_checkpoint and not args.flow_checkpoint:
        p.error("--rgb_checkpoint needs --flow_checkpoint")
    if args.flow_checkpoint and not args.rgb_checkpoint:
        p.error("--flow_checkpoint goes with --rgb_checkpoint (for one flow model: --checkpoint B --mode flow)")
    return args


def class_names(args, num_classes, source, records):
    """--labels (checked against what the checkpoints record), else the recorded names, else the labels.txt
    of the run folder a checkpoint is in; None without any. records: [(checkpoint, its record)]."""
    if args.labels:
        labels = read_labels(args.labels)
        for path, record in records:
            check_class_names(record, labels, path, "--checkpoint", f"--labels {args.labels}")
    else:
        labels = next((r.get("class_names") for _, r in records if r.get("class_names")), None)
        beside = next((found for found in (labels_beside(path) for path, _ in records) if found), None)
        labels = labels or (read_labels(beside) if beside else None)
    if labels is not None and len(labels) != num_classes:
        raise ValueError(f"--labels {args.labels} has {len(labels)} names but the {source} has {num_classes} classes")
    return labels


def print_top_k(args, logits, labels, clip_shape, stream):
    _, t, h, w = clip_shape
    print(f"top-{args.top_k} for {args.input} ({t} frames, {w}x{h}, {stream}):")
    for line in top_k_lines(logits, labels, args.top_k):
        print(line)


def predict_one_stream(args):
    import mindspore as ms

    if args.mindir:
        model = load_mindir(args.mindir)
        mode = args.mode or mode_of_channels(model.clip_shape[0])
        clip = fit_clip(load_input(args.input, mode, args.resize, args.crop, args.num_frames), model, args.mode)
        labels = class_names(args, model.num_classes, "--mindir model", [])
    else:
        net, record = load_recorded(args.checkpoint, "--checkpoint", mode=args.mode, arch=args.arch, head=args.head)
        net.set_train(False)
        model = lambda batch: net(ms.Tensor(batch)).asnumpy()  # noqa: E731
        mode = record["mode"]
        labels = class_names(args, net.num_classes, "checkpoint", [(args.checkpoint, record)])
        clip = load_input(args.input, mode, args.resize, args.crop, args.num_frames)
    logits = model(to_batch(as_network_input(clip, args.input)))[0]
    print_top_k(args, logits, labels, clip.shape, mode)
    return logits


def predict_two_streams(args):
    from src.infer.video_streams import two_stream_clips

    rgb, flow = two_stream_clips(args.input, args.size, args.crop, args.bound, args.num_frames)
    logits, records = two_stream_logits(rgb, flow, args.rgb_checkpoint, args.flow_checkpoint, args.arch, args.head)
    labels = class_names(args, len(logits["joint"]), "checkpoints",
                         [(args.rgb_checkpoint, records["rgb"]), (args.flow_checkpoint, records["flow"])])
    for stream in ("rgb", "flow", "joint"):
        print_top_k(args, logits[stream], labels, rgb.shape, stream)
    return np.stack([logits["rgb"], logits["flow"], logits["joint"]])


def main(argv=None):
    args = parse_args(argv)
    configure(args.device_target, args.context)
    try:
        logits = predict_two_streams(args) if args.rgb_checkpoint else predict_one_stream(args)
    except (UserError, ValueError, OSError) as exc:
        print(f"predict: {exc}", file=sys.stderr)
        return 2
    if args.save_logits:
        np.save(args.save_logits, logits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
