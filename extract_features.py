"""Per-video I3D features: `python extract_features.py INPUT OUT --checkpoint CKPT [--endpoint Mixed_5c] [--window 16]`."""
import argparse
import sys

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.common.errors import UserError
from src.common.flag_types import non_negative_int, positive_float, positive_int
from src.infer.features import FeatureOptions, checkpoint_mode, extract_features
from src.model.i3d import VALID_ENDPOINTS
from src.data.layout import FLOW_BOUND
from src.backend.runtime import DEVICE_TARGETS, configure


def main(argv=None):
    p = argparse.ArgumentParser(description="Write one features .npy per video: OUT/<class>/<video>.npy, the "
                                "endpoint's output averaged over space (T', C), or per window over space and "
                                "time (windows, C). Resumable: finished files are skipped.")
    p.add_argument("input", help="frame tree INPUT/<class>/<video>/ (rgb or flow), or with --ext video files "
                                 "INPUT/<class>/<video>.<ext>")
    p.add_argument("out", help="features are written here")
    p.add_argument("--checkpoint", required=True, help="I3D checkpoint; its stream (rgb/flow) is the --mode")
    p.add_argument("--mode", choices=("rgb", "flow"), default=None, help="default: the checkpoint's")
    p.add_argument("--endpoint", default="Mixed_5c", choices=VALID_ENDPOINTS)
    p.add_argument("--window", type=non_negative_int, default=0, help="frames per window (0 = the whole video in one pass)")
    p.add_argument("--stride", type=non_negative_int, default=0, help="frames between window starts (default: --window)")
    p.add_argument("--crop", type=positive_int, default=224, help="centre crop size")
    p.add_argument("--ext", default=None, help="read video files with this extension instead of frame folders")
    p.add_argument("--size", type=positive_int, default=240, help="video files: short side of the frames (as generate_rgb_jpgs)")
    p.add_argument("--bound", type=positive_float, default=FLOW_BOUND, help="video files, flow: clip bound (as convert_rgb_to_flow)")
    p.add_argument("--batch_size", type=positive_int, default=8, help="windows per forward pass")
    p.add_argument("--head", choices=("avg", "max"), default=None,
                   help="only matters for --endpoint logits (default: the checkpoint's)")
    p.add_argument("--device_target", default=None, choices=DEVICE_TARGETS)
    p.add_argument("--context", default="gr", choices=("gr", "py"))
    p.add_argument("--n_jobs", type=int, default=1, help="worker processes, each with its own network (default 1: "
                   "one network already uses every core; 0 or -1 = one per CPU)")
    args = p.parse_args(argv)
    configure(args.device_target, args.context)
    try:
        options = FeatureOptions(args.checkpoint, args.mode or checkpoint_mode(args.checkpoint), args.endpoint,
                                 args.head, args.crop, args.window, args.stride, args.batch_size, args.size,
                                 args.bound, args.device_target, args.context)
        summary = extract_features(args.input, args.out, options, args.ext, args.n_jobs)
    except (UserError, FileNotFoundError) as exc:
        print(f"extract_features: {exc}", file=sys.stderr)
        return 2
    return summary.report()


if __name__ == "__main__":
    sys.exit(main())
