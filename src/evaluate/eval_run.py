"""eval.py's job: load the checkpoint(s), run every test video once, print the accuracy lines and write
per-video predictions, a summary JSON and confusion-matrix pictures into the output folder."""
import json
import sys
import time
from pathlib import Path

from src.common.atomic import write_text_atomic
from src.common.errors import UserError
from src.backend.runtime import configure


class EvalSetupError(UserError, ValueError):
    """A flag or file that makes evaluation impossible; the message names it."""


def stream_inputs(args):
    """[(stream, checkpoint, video_path, annotation_path)] for --test_mode."""
    rgb = ("rgb", args.rgb_path, args.video_path, args.annotation_path)
    if args.test_mode == "rgb":
        streams = [rgb]
    elif args.test_mode == "flow":
        streams = [("flow", args.flow_path, args.video_path, args.annotation_path)]
    else:
        streams = [rgb, ("flow", args.flow_path, args.video_path_joint_flow, args.annotation_path_joint_flow)]
    flags = {"rgb": ("--rgb_path", "--video_path", "--annotation_path"),
             "flow": ("--flow_path",) + (("--video_path_joint_flow", "--annotation_path_joint_flow")
                                         if args.test_mode == "joint" else ("--video_path", "--annotation_path"))}
    for stream, *values in streams:
        for flag, value in zip(flags[stream], values):
            if not value:
                raise EvalSetupError(f"--test_mode {args.test_mode} needs {flag}")
            if not Path(value).exists():
                raise EvalSetupError(f"{flag} {value}: no such file or folder")
    return streams


def load_model(args, stream, path):
    """(numpy forward function, number of classes, record or None) from a checkpoint or an exported .mindir.

    A checkpoint's record settles arch/head/classes; --arch/--head/--num_classes given must agree with it."""
    from src.checkpoints.checkpoint import load_recorded
    from src.evaluate.video_logits import network_forward
    from src.data.layout import INPUT_CHANNELS
    from src.deploy.mindir_runner import load_mindir

    flag = f"--{stream}_path"
    suffix = Path(path).suffix.lower()
    if suffix in (".mindir", ".onnx"):
        if suffix == ".onnx":
            from src.deploy.onnx_runner import OnnxRunner
            runner = OnnxRunner(path, flag, args.device_target)
        else:
            runner = load_mindir(path, flag=flag)
        if runner.clip_shape[0] != INPUT_CHANNELS[stream]:
            raise EvalSetupError(f"{flag} {path} takes {runner.clip_shape[0]}-channel clips, not {stream}")
        if args.test_sample_duration == 0:
            raise EvalSetupError(f"{flag} {path}: an exported model has a fixed clip length; the whole-video "
                                 "protocol (--test_sample_duration 0) needs a checkpoint")
        if args.num_classes and args.num_classes != runner.num_classes:
            raise EvalSetupError(f"{flag} {path} has {runner.num_classes} classes but --num_classes is "
                                 f"{args.num_classes}")
        return runner, runner.num_classes, None
    net, record = load_recorded(path, flag, mode=stream, arch=args.arch, head=args.head, num_classes=args.num_classes)
    return network_forward(net), net.num_classes, record


def step_line(step, logits, labels, prefix=""):
    """The original's per-batch line: `step: i   acc: a`, a = correct / clips in the batch."""
    return f"{prefix}step: {step}   acc: {float((logits.argmax(axis=1) == labels).mean())}"


def evaluate_stream(args, stream, ckpt, video_path, annotation_path):
    from src.checkpoints.checkpoint import check_class_names
    from src.data.loader.clip_dataset import ClipDataset
    from src.evaluate.video_logits import predict_logits

    forward, num_classes, record = load_model(args, stream, ckpt)
    source = ClipDataset(video_path, annotation_path, stream, args.subset, False, args.test_sample_duration,
                         args.spatial_size, args.seed, num_clips=args.num_clips, num_crops=args.num_crops)
    if len(source.labels) != num_classes:
        raise EvalSetupError(f"{annotation_path} has {len(source.labels)} classes but --{stream}_path {ckpt} has "
                             f"{num_classes}")
    if record:
        check_class_names(record, source.labels, ckpt, f"--{stream}_path", annotation_path)
    print(f"checkpoint: {ckpt}")
    print(f"Found {len(source)} {args.subset} examples")
    one_by_one = not args.test_sample_duration or source.views > 1  # whole videos and view stacks: one per step
    print(f"total steps: {len(source) if one_by_one else -(-len(source) // args.batch_size)}")
    print("running evaluation", flush=True)
    on_batch = None if args.test_mode == "joint" else (lambda i, lg, lb: print(step_line(i, lg, lb), flush=True))
    return predict_logits(forward, source, args.batch_size, args.num_workers, on_batch=on_batch), source.labels


def report(args, name, result, class_names, out_dir):
    from src.evaluate.confusion import most_confused
    from src.evaluate.metrics import accuracy_figures
    from src.evaluate.report import write_confusion, write_predictions

    ids, logits, labels = result
    figures = accuracy_figures(logits, labels, len(class_names))
    write_predictions(out_dir, name, ids, logits, labels, class_names)
    write_confusion(out_dir, name, figures["confusion"], class_names,
                    f"{args.dataset} {name}: top-1 {figures['top1']:.3f} ({figures['videos']} videos)")
    figures["most_confused"] = most_confused(figures["confusion"], class_names, k=10)
    return figures


def print_most_confused(name, pairs):
    if pairs:
        print(f"{name} most confused (truth -> predicted, videos):")
        for pair in pairs:
            print(f"  {pair['truth']} -> {pair['predicted']}: {pair['count']}")


def protocol_text(args):
    """What ran, in words: e.g. "centred 64 frames, centre crop 224" or "10 clips x 3 crops of 64 frames, crop 224"."""
    duration, clips, crops, size = args.test_sample_duration, args.num_clips, args.num_crops, args.spatial_size
    if clips == 1 and crops == 1:
        return f"{'whole video' if duration == 0 else f'centred {duration} frames'}, centre crop {size}"
    crop_text = f"{crops} crop{'s' if crops > 1 else ''}"
    if duration == 0:
        return f"whole video x {crop_text}, crop {size}"
    return f"{clips} clip{'s' if clips > 1 else ''} x {crop_text} of {duration} frames, crop {size}"


def check_protocol(args):
    if args.num_clips > 1 and args.test_sample_duration == 0:
        raise EvalSetupError(f"--num_clips {args.num_clips} needs --test_sample_duration > 0 (0 = the whole video "
                             "is already one clip covering everything)")


def joint_lines(args, results, summary):
    """The original's joint output: per-batch lines of the fused logits against each stream's targets, then
    one line for both (the targets agree: joint pairs videos by id)."""
    _, logits, labels = results["joint"]
    lines = []
    for step, start in enumerate(range(0, len(labels), args.batch_size), 1):
        chunk = slice(start, start + args.batch_size)
        for target in ("rgb", "flow"):
            lines.append(step_line(step, logits[chunk], labels[chunk], f"(use {target} target) "))
    acc = summary["joint"]["top1"]
    if getattr(args, "onnx", False):  # eval_onnx.py's line
        lines.append(f"accuracy of rgb: {summary['rgb']['top1']}    accuracy of flow: {summary['flow']['top1']} "
                     f"accuracy of joint: {acc}")
    else:
        lines.append(f"accuracy of use rgb targerts: {acc}    accuracy of use flow targerts: {acc}")
    return lines


def run(args):
    from src.evaluate.metrics import fuse

    start = time.time()
    check_protocol(args)
    configure(args.device_target, args.context, args.device_id, args.seed)
    if args.openI:
        from src.data.openi import stage_eval
        stage_eval(args)
    streams = stream_inputs(args)
    out_dir = Path(args.output_dir or f"./eval_output/{args.dataset}_{args.test_mode}")
    results, summary, names = {}, {}, None
    for stream, ckpt, video_path, annotation_path in streams:
        results[stream], labels = evaluate_stream(args, stream, ckpt, video_path, annotation_path)
        if names is not None and labels != names:
            raise EvalSetupError("joint: the rgb and flow annotation files list different classes")
        names = labels
    if args.test_mode == "joint":
        results["joint"] = fuse(results["rgb"], results["flow"])
    for name, result in results.items():
        summary[name] = report(args, name, result, names, out_dir)
    # the original's lines first, in its order; ours after its last line
    if args.test_mode == "joint":
        print("\n".join(joint_lines(args, results, summary)))
    else:
        print(f"{args.test_mode} accuracy: {summary[args.test_mode]['top1']}")
    print(f"total_time: {time.time() - start:.1f} s", flush=True)
    for name in results:
        figures = summary[name]
        if args.test_mode == "joint":
            print(f"{name} accuracy: {figures['top1']}")
        print(f"{name} top-5 accuracy: {figures['top5']:.4f}, mean per-class accuracy: "
              f"{figures['mean_class_accuracy']:.4f} ({figures['videos']} videos)")
        print_most_confused(name, figures["most_confused"])
        del figures["confusion"]
    summary["protocol"] = protocol_text(args)
    print(f"protocol: {summary['protocol']}")
    write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=2))
    if args.openI:
        from src.data.openi import write_eval_log
        name = "joint" if args.test_mode == "joint" else args.test_mode
        write_eval_log(args, f"{name} accuracy:{summary[name]['top1']}")
    print(f"predictions and confusion matrices in {out_dir}", flush=True)
    return 0


def main(args):
    try:
        return run(args)
    except (UserError, ValueError) as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return 2
