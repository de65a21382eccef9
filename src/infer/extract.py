"""extract_features.py's command line: flags -> one FeatureOptions (frozen) -> the batch of src/infer/features.py."""
import argparse
import sys

from src.common.errors import UserError
from src.infer.features import FeatureOptions, FeatureSetupError, checkpoint_mode, extract_features
from src.common.flag_types import job_count, non_negative_int, positive_float, positive_int
from src.model.i3d import VALID_ENDPOINTS
from src.data.layout import FLOW_BOUND
from src.backend.runtime import DEVICE_TARGETS

DEFAULT_CROP = 224


def build_parser():
    p = argparse.ArgumentParser(description="Write one features .npy per video: OUT/<class>/<video>.npy, the "
                                "endpoint's output averaged over space (T', C), or per window over space and "
                                "time (windows, C) with the windows' frame indices in <video>.frames.npy. "
                                "Two streams (--rgb_checkpoint, --flow_checkpoint, video files): each video "
                                "decoded and its flow computed once, columns [rgb | flow]. Resumable: finished "
                                "files are skipped.")
    p.add_argument("input", help="frame tree INPUT/<class>/<video>/ (rgb or flow), or with --ext video files "
                                 "INPUT/<class>/<video>.<ext>")
    p.add_argument("out", help="features are written here")
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--checkpoint", help="I3D checkpoint; its stream (rgb/flow) is the --mode")
    model.add_argument("--rgb_checkpoint", help="two streams from video files: the rgb checkpoint (with --flow_checkpoint)")
    p.add_argument("--flow_checkpoint", help="two streams from video files: the flow checkpoint")
    p.add_argument("--mode", choices=("rgb", "flow"), default=None, help="default: the checkpoint's")
    p.add_argument("--endpoint", default="Mixed_5c", choices=VALID_ENDPOINTS)
    p.add_argument("--window", type=non_negative_int, default=0, help="frames per window (0 = the whole video in one pass)")
    p.add_argument("--stride", type=positive_int, default=None, help="frames between window starts (default: --window)")
    p.add_argument("--crop", type=positive_int, default=None,
                   help="centre crop size (default: the spatial size the checkpoint records, else 224)")
    p.add_argument("--ext", default=None, help="read video files with this extension instead of frame folders")
    p.add_argument("--size", type=positive_int, default=240, help="video files: short side of the frames (as generate_rgb_jpgs)")
    p.add_argument("--bound", type=positive_float, default=FLOW_BOUND, help="video files, flow: clip bound (as convert_rgb_to_flow)")
    p.add_argument("--flow_backend", choices=("auto", "opencv", "torch"), default="opencv",
                   help="video files, flow: OpenCV's TV-L1, or the project's torch TV-L1 (same flow; auto = torch on a GPU)")
    p.add_argument("--flow_device", help="--flow_backend torch: cpu, cuda or cuda:N")
    p.add_argument("--allow_truncated", action="store_true",
                   help="video files: use the frames that decode from a video cut short (default: it fails, as in "
                        "generate_rgb_jpgs)")
    p.add_argument("--batch_size", type=positive_int, default=8, help="windows per forward pass")
    p.add_argument("--head", choices=("avg", "max"), default=None,
                   help="only matters for --endpoint logits (default: the checkpoint's)")
    p.add_argument("--device_target", default=None, choices=DEVICE_TARGETS)
    p.add_argument("--context", default="gr", choices=("gr", "py"))
    p.add_argument("--n_jobs", type=job_count, default=1, help="worker processes, each with its own network (default 1: "
                   "one network already uses every core; 0 or -1 = one per CPU)")
    return p


def make_options(args):
    """The FeatureOptions of a parsed command line (the namespace is only read)."""
    from src.checkpoints.checkpoint import open_checkpoint
    from src.infer.models import recorded_sizes

    if bool(args.rgb_checkpoint) != bool(args.flow_checkpoint):
        raise FeatureSetupError("--rgb_checkpoint and --flow_checkpoint go together (one stream: --checkpoint)")
    if args.rgb_checkpoint and args.mode:
        raise FeatureSetupError("--mode goes with --checkpoint (two streams are rgb and flow)")
    first = args.checkpoint or args.rgb_checkpoint
    flag = "--checkpoint" if args.checkpoint else "--rgb_checkpoint"
    records = [open_checkpoint(first, flag)[1]]
    if args.flow_checkpoint:
        records.append(open_checkpoint(args.flow_checkpoint, "--flow_checkpoint")[1])
    crop = args.crop or recorded_sizes(records)[0] or DEFAULT_CROP
    mode = "rgb" if args.rgb_checkpoint else (args.mode or checkpoint_mode(first))
    return FeatureOptions(first, mode, args.endpoint, args.head, crop, args.window, args.stride or 0,
                          args.batch_size, args.size, args.bound, args.device_target, args.context,
                          flow_checkpoint=args.flow_checkpoint, allow_truncated=args.allow_truncated,
                          flow_backend=args.flow_backend, flow_device=args.flow_device)


def main(argv=None):
    from src.backend.runtime import configure

    args = build_parser().parse_args(argv)
    try:
        options = make_options(args)
        configure(options.device_target, options.context)
        summary = extract_features(args.input, args.out, options, args.ext, args.n_jobs)
    except (UserError, FileNotFoundError, ValueError) as exc:
        print(f"extract_features: {exc}", file=sys.stderr)
        return 2
    return summary.report()
