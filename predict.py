"""Top-k predictions of an I3D checkpoint for one video, GIF, frame folder or .npy clip.

    python predict.py INPUT --checkpoint CKPT [--mode rgb|flow] [--labels FILE] [--top_k 5]
                      [--num_frames N] [--save_logits OUT.npy]
"""
import argparse
import sys

import numpy as np

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.checkpoint import CheckpointError, load_i3d
from src.data.video import VideoReadError
from src.inference import load_clip, read_labels, to_network_input, top_k_lines
from src.runtime import configure


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="video file, GIF, frame folder, or .npy (T,H,W,C) in [-1,1]")
    p.add_argument("--checkpoint", required=True, help="MindSpore checkpoint (see pt2ckpt.py)")
    p.add_argument("--mode", choices=("rgb", "flow"), default="rgb")
    p.add_argument("--labels", help="class names, one per line (e.g. Kinetics-400 label_map.txt)")
    p.add_argument("--top_k", type=int, default=5)
    p.add_argument("--num_frames", type=int, default=0, help="use only the first N frames (0 = all)")
    p.add_argument("--resize", type=int, default=256, help="short side before the centre crop")
    p.add_argument("--crop", type=int, default=224, help="centre crop size")
    p.add_argument("--head", choices=("avg", "max"), default="avg")
    p.add_argument("--save_logits", help="write the time-averaged logits (num_classes,) as .npy")
    p.add_argument("--device_target", default="CPU", choices=("CPU", "GPU", "Ascend"))
    p.add_argument("--context", default="gr", choices=("gr", "py"))
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    configure(args.device_target, args.context)
    import mindspore as ms

    try:
        clip = load_clip(args.input, args.mode, args.resize, args.crop, args.num_frames)
        net = load_i3d(args.checkpoint, mode=args.mode, head=args.head)
        labels = read_labels(args.labels) if args.labels else None
    except (CheckpointError, VideoReadError, ValueError, OSError) as exc:
        print(f"predict: {exc}", file=sys.stderr)
        return 2
    if labels is not None and len(labels) != net.num_classes:
        print(f"predict: --labels {args.labels} has {len(labels)} names but the checkpoint has "
              f"{net.num_classes} classes", file=sys.stderr)
        return 2
    net.set_train(False)
    logits = net(ms.Tensor(to_network_input(clip))).asnumpy()[0]
    t, h, w, _ = clip.shape
    print(f"top-{args.top_k} for {args.input} ({t} frames, {w}x{h}, {args.mode}):")
    for line in top_k_lines(logits, labels, args.top_k):
        print(line)
    if args.save_logits:
        np.save(args.save_logits, logits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
