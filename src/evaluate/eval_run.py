"""eval.py's job: load the checkpoint(s), run every test video once, print the accuracy lines and write
per-video predictions, a summary JSON and confusion-matrix pictures into the output folder."""
import json
import sys
import time

from src.common.atomic import write_text_atomic
from src.common.errors import UserError
from src.evaluate.plan import EvalSetupError, plan_eval
from src.backend.runtime import configure


def step_line(step, logits, labels, prefix=""):
    """The original's per-batch line: `step: i   acc: a`, a = correct / clips in the batch."""
    return f"{prefix}step: {step}   acc: {float((logits.argmax(axis=1) == labels).mean())}"


def evaluate_stream(flags, stream):
    from src.checkpoints.checkpoint import check_class_names
    from src.data.loader.clip_dataset import ClipDataset
    from src.evaluate.video_logits import predict_logits

    model = stream.model
    source = ClipDataset(stream.video_path, stream.annotation_path, stream.name, flags.subset, False,
                         flags.test_sample_duration, flags.spatial_size, flags.seed, num_clips=flags.num_clips,
                         num_crops=flags.num_crops)
    if len(source.labels) != model.num_classes:
        raise EvalSetupError(f"{stream.annotation_path} has {len(source.labels)} classes but --{stream.name}_path "
                             f"{stream.checkpoint} has {model.num_classes}")
    if model.record:
        check_class_names(model.record, source.labels, stream.checkpoint, f"--{stream.name}_path",
                          stream.annotation_path)
    print(f"checkpoint: {stream.checkpoint}")
    print(f"Found {len(source)} {flags.subset} examples")
    one_by_one = not flags.test_sample_duration or source.views > 1  # whole videos and view stacks: one per step
    print(f"total steps: {len(source) if one_by_one else -(-len(source) // flags.batch_size)}")
    print("running evaluation", flush=True)
    on_batch = None if flags.test_mode == "joint" else (lambda i, lg, lb: print(step_line(i, lg, lb), flush=True))
    return predict_logits(model.forward, source, flags.batch_size, flags.num_workers, on_batch=on_batch), source.labels


def report(flags, name, result, class_names, out_dir):
    from src.evaluate.confusion import most_confused
    from src.evaluate.metrics import accuracy_figures
    from src.evaluate.report import write_confusion, write_predictions

    ids, logits, labels = result
    figures = accuracy_figures(logits, labels, len(class_names))
    write_predictions(out_dir, name, ids, logits, labels, class_names)
    write_confusion(out_dir, name, figures["confusion"], class_names,
                    f"{flags.dataset} {name}: top-1 {figures['top1']:.3f} ({figures['videos']} videos)")
    figures["most_confused"] = most_confused(figures["confusion"], class_names, k=10)
    return figures


def print_most_confused(name, pairs):
    if pairs:
        print(f"{name} most confused (truth -> predicted, videos):")
        for pair in pairs:
            print(f"  {pair['truth']} -> {pair['predicted']}: {pair['count']}")


def protocol_text(flags):
    """What ran, in words: e.g. "centred 64 frames, centre crop 224" or "10 clips x 3 crops of 64 frames, crop 224"."""
    duration, clips, crops, size = flags.test_sample_duration, flags.num_clips, flags.num_crops, flags.spatial_size
    if clips == 1 and crops == 1:
        return f"{'whole video' if duration == 0 else f'centred {duration} frames'}, centre crop {size}"
    crop_text = f"{crops} crop{'s' if crops > 1 else ''}"
    if duration == 0:
        return f"whole video x {crop_text}, crop {size}"
    return f"{clips} clip{'s' if clips > 1 else ''} x {crop_text} of {duration} frames, crop {size}"


def joint_lines(plan, results, summary):
    """The original's joint output: per-batch lines of the fused logits against each stream's targets, then
    one line for both (the targets agree: joint pairs videos by id)."""
    _, logits, labels = results["joint"]
    lines = []
    batch_size = plan.flags.batch_size
    for step, start in enumerate(range(0, len(labels), batch_size), 1):
        chunk = slice(start, start + batch_size)
        for target in ("rgb", "flow"):
            lines.append(step_line(step, logits[chunk], labels[chunk], f"(use {target} target) "))
    acc = summary["joint"]["top1"]
    if plan.onnx_lines:  # eval_onnx.py's line
        lines.append(f"accuracy of rgb: {summary['rgb']['top1']}    accuracy of flow: {summary['flow']['top1']} "
                     f"accuracy of joint: {acc}")
    else:
        lines.append(f"accuracy of use rgb targerts: {acc}    accuracy of use flow targerts: {acc}")
    return lines


def run(args, onnx_lines=False):
    from src.common.atomic import exclusive_output
    from src.evaluate.metrics import fuse

    start = time.time()
    configure(args.device_target, args.context, args.device_id, args.seed)
    plan = plan_eval(args, onnx_lines)
    flags, out_dir = plan.flags, plan.output_dir
    with exclusive_output(out_dir, "evaluation"):
        results, summary, names = {}, {}, None
        for stream in plan.streams:
            results[stream.name], labels = evaluate_stream(flags, stream)
            if names is not None and labels != names:
                raise EvalSetupError("joint: the rgb and flow annotation files list different classes")
            names = labels
        if flags.test_mode == "joint":
            results["joint"] = fuse(results["rgb"], results["flow"])
        for name, result in results.items():
            summary[name] = report(flags, name, result, names, out_dir)
        # the original's lines first, in its order; ours after its last line
        if flags.test_mode == "joint":
            print("\n".join(joint_lines(plan, results, summary)))
        else:
            print(f"{flags.test_mode} accuracy: {summary[flags.test_mode]['top1']}")
        print(f"total_time: {time.time() - start:.1f} s", flush=True)
        for name in results:
            figures = summary[name]
            if flags.test_mode == "joint":
                print(f"{name} accuracy: {figures['top1']}")
            print(f"{name} top-5 accuracy: {figures['top5']:.4f}, mean per-class accuracy: "
                  f"{figures['mean_class_accuracy']:.4f} ({figures['videos']} videos)")
            print_most_confused(name, figures["most_confused"])
            del figures["confusion"]
        summary["protocol"] = protocol_text(flags)
        summary["checkpoints"] = {stream.name: str(stream.checkpoint) for stream in plan.streams}
        print(f"protocol: {summary['protocol']}")
        write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=2))
    if flags.openI:
        from src.data.openi import write_eval_log
        write_eval_log(flags.result_url, f"{flags.test_mode} accuracy:{summary[flags.test_mode]['top1']}")
    print(f"predictions and confusion matrices in {out_dir}", flush=True)
    return 0


def main(args, onnx_lines=False):
    """eval.py / eval_onnx.py (onnx_lines: its joint accuracy line): exit 0, or 2 for a flag or file that
    cannot be used."""
    try:
        return run(args, onnx_lines)
    except (UserError, ValueError) as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return 2
