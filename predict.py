"""Top-k predictions of an I3D checkpoint or exported MINDIR for one video, GIF, frame folder or .npy clip.

    python predict.py INPUT (--checkpoint CKPT | --mindir FILE.mindir) [--mode rgb|flow] [--labels FILE]
                      [--top_k 5] [--num_frames N] [--save_logits OUT.npy]

A checkpoint's record gives the stream, network (--arch, --head) and class names; flags given must agree.

A MINDIR (export.py) has a fixed clip shape: longer clips are cut to its first T frames, shorter
ones and other frame sizes (set --crop to the exported --spatial_size) are an error.
"""
import argparse
import sys

import numpy as np

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.arch import NAMES as ARCH_NAMES
from src.checkpoint import check_class_names, load_recorded
from src.errors import UserError
from src.inference import load_input, read_labels, top_k_lines
from src.layout import mode_of_channels
from src.run_folder import labels_beside
from src.mindir_runner import fit_clip, load_mindir
from src.network_input import as_network_input, to_batch
from src.runtime import DEVICE_TARGETS, configure
from src.flag_types import non_negative_int, positive_int


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="video file, GIF, frame folder, or .npy (T,H,W,C) in [-1,1]")
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--checkpoint", help="MindSpore checkpoint (see pt2ckpt.py)")
    model.add_argument("--mindir", help="MINDIR written by export.py (its --head and shape are fixed in it)")
    p.add_argument("--mode", choices=("rgb", "flow"), default=None, help="default: the checkpoint's / MINDIR's")
    p.add_argument("--labels", help="class names, one per line (default: the names the checkpoint records, else the "
                                    "labels.txt of the run folder the checkpoint is in)")
    p.add_argument("--top_k", type=positive_int, default=5)
    p.add_argument("--num_frames", type=non_negative_int, default=0, help="use only the first N frames (0 = all)")
    p.add_argument("--resize", type=positive_int, default=256, help="short side before the centre crop")
    p.add_argument("--crop", type=positive_int, default=224, help="centre crop size")
    p.add_argument("--arch", choices=ARCH_NAMES, default=None, help="with --checkpoint (default: the checkpoint's)")
    p.add_argument("--head", choices=("avg", "max"), default=None, help="with --checkpoint (default: the checkpoint's)")
    p.add_argument("--save_logits", help="write the time-averaged logits (num_classes,) as .npy")
    p.add_argument("--device_target", default=None, choices=DEVICE_TARGETS,
                   help="default: the device the installed MindSpore runs on")
    p.add_argument("--context", default="gr", choices=("gr", "py"))
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    configure(args.device_target, args.context)
    import mindspore as ms

    try:
        labels = read_labels(args.labels) if args.labels else None
        if args.mindir:
            model = load_mindir(args.mindir)
            mode = args.mode or mode_of_channels(model.clip_shape[0])
            clip = fit_clip(load_input(args.input, mode, args.resize, args.crop, args.num_frames), model, args.mode)
            num_classes, source = model.num_classes, "--mindir model"
        else:
            net, record = load_recorded(args.checkpoint, "--checkpoint", mode=args.mode, arch=args.arch, head=args.head)
            net.set_train(False)
            model = lambda batch: net(ms.Tensor(batch)).asnumpy()  # noqa: E731
            num_classes, source, mode = net.num_classes, "checkpoint", record["mode"]
            if labels is None:
                beside = labels_beside(args.checkpoint)
                labels = record["class_names"] or (read_labels(beside) if beside else None)
            else:
                check_class_names(record, labels, args.checkpoint, "--checkpoint", f"--labels {args.labels}")
            clip = load_input(args.input, mode, args.resize, args.crop, args.num_frames)
        batch = to_batch(as_network_input(clip, args.input))
    except (UserError, ValueError, OSError) as exc:
        print(f"predict: {exc}", file=sys.stderr)
        return 2
    if labels is not None and len(labels) != num_classes:
        print(f"predict: --labels {args.labels} has {len(labels)} names but the {source} has "
              f"{num_classes} classes", file=sys.stderr)
        return 2
    logits = model(batch)[0]
    _, t, h, w = clip.shape
    print(f"top-{args.top_k} for {args.input} ({t} frames, {w}x{h}, {mode}):")
    for line in top_k_lines(logits, labels, args.top_k):
        print(line)
    if args.save_logits:
        np.save(args.save_logits, logits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
