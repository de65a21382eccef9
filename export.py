"""Export an I3D checkpoint to MINDIR (default), ONNX or AIR (Ascend only) with a fixed input shape.

    python export.py --checkpoint_path CKPT [--mode rgb|flow] [--file_name i3d_minddir]
                     [--file_format MINDIR|ONNX|AIR] [--batch_size 8] [--sample_duration 64]
                     [--spatial_size 224] [--num_classes N] [--arch ..] [--head avg|max] [--device CPU|GPU|Ascend]

The checkpoint's record gives the stream, network, classes and clip size; flags given must agree with it
(sizes given win). The class names go to <file>.labels.txt beside the model, where predict.py finds them.

The input is (batch_size, 3 rgb | 2 flow, sample_duration, spatial_size, spatial_size) float32 in
[-1, 1]; the output is (batch_size, num_classes) logits. Prints the path written.
"""
import argparse
import sys

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.model.arch import NAMES as ARCH_NAMES
from src.common.errors import UserError
from src.deploy.export import FILE_FORMATS, check_request, export_checkpoint
from src.model.i3d import HEADS
from src.data.layout import MODES
from src.backend.runtime import DEVICE_TARGETS, configure, installed_device_target
from src.common.flag_types import keep_probability, non_negative_int, positive_int


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint_path", required=True, help="MindSpore checkpoint to export")
    p.add_argument("--mode", default=None, choices=MODES, help="checked against the checkpoint (default: its mode)")
    p.add_argument("--file_name", default="i3d_minddir", help="output; the format's suffix is appended if missing")
    p.add_argument("--file_format", default="MINDIR", choices=tuple(FILE_FORMATS))
    p.add_argument("--batch_size", type=positive_int, default=8)
    p.add_argument("--sample_duration", type=positive_int, default=None,
                   help="frames per clip (T); default: the clip the checkpoint records, else 64")
    p.add_argument("--spatial_size", type=positive_int, default=None,
                   help="frame height and width; default: the crop the checkpoint records, else 224")
    p.add_argument("--num_classes", type=positive_int, default=None,
                   help="checked against the checkpoint (default: the checkpoint's count)")
    p.add_argument("--arch", choices=ARCH_NAMES, default=None, help="default: the checkpoint's")
    p.add_argument("--head", choices=HEADS, default=None,
                   help="avg: DeepMind's head; max: the original port's global max pool (default: the checkpoint's)")
    p.add_argument("--dropout_keep_prob", type=keep_probability, default=0.5,
                   help="accepted for compatibility; the export runs in eval mode, where dropout is off")
    p.add_argument("--device", "--device_target", dest="device", default=None, choices=DEVICE_TARGETS,
                   help="default: the device the installed MindSpore runs on (the original's default was Ascend)")
    p.add_argument("--device_id", type=non_negative_int, default=0)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        device = args.device or installed_device_target()
        check_request(args.file_format, device)
        configure(device, "gr", args.device_id)
        path = export_checkpoint(args.checkpoint_path, args.mode, args.file_name, args.file_format,
                                 args.batch_size, args.sample_duration, args.spatial_size,
                                 args.num_classes, args.head, device, args.arch)
    except (UserError, OSError) as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
