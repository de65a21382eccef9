"""Where a train step's time goes: per-kernel totals of one GRAPH-mode step of our network (MindSpore's
CPU profiler) next to one eager step of bench_peer's PyTorch I3D (torch.profiler, self CPU time).

Why: the peer bench says how far apart the two steps are; this says which kernels make the difference.

    .venv/bin/python bench/profile_step.py [--shape 1x3x16x224x224] [--finetune logits,Mixed_5] [--top 20]
"""
import argparse
import csv
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import mindspore as ms  # noqa: E402

from bench_peer import ours, peer  # noqa: E402


def profile_ours(step, out_dir):
    """{op type: ms} of one step; MindSpore writes FRAMEWORK/cpu_op_type_info_0.csv under out_dir."""
    from mindspore import Profiler

    prof = Profiler(output_path=out_dir)
    step()
    prof.stop()
    prof.analyse()
    table = next(Path(out_dir).rglob("cpu_op_type_info_*.csv"))
    with open(table, newline="") as f:
        return {row["op_type"]: float(row["total_compute_time"]) for row in csv.DictReader(f)}


def profile_peer(step):
    """{aten op: ms} self CPU time of one step (children excluded, so the column adds up)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step()
    return {e.key: e.self_cpu_time_total / 1000.0 for e in prof.key_averages()}


def print_table(title, times, top):
    total = sum(times.values())
    print(f"\n{title}: {total:.0f} ms in kernels")
    for name, t in sorted(times.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {name:<44} {t:9.1f} ms {100 * t / total:5.1f}%")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="1x3x16x224x224")
    p.add_argument("--finetune", default="", help="fine-tune prefixes (default: the whole network trains)")
    p.add_argument("--classes", type=int, default=400)
    p.add_argument("--top", type=int, default=20)
    args = p.parse_args()
    shape = tuple(int(v) for v in args.shape.split("x"))
    ms.set_context(mode=ms.GRAPH_MODE)
    torch.set_num_threads(ms.get_context("runtime_num_threads"))
    steps = (ours(shape, "train", args.finetune or None, args.classes),
             peer(shape, "train", args.finetune or None, args.classes))
    for step in steps:
        step()
        step()  # compile / warm up
    with tempfile.TemporaryDirectory() as tmp:
        print_table(f"MindSpore GRAPH train step {args.shape}", profile_ours(steps[0], tmp), args.top)
    print_table(f"PyTorch eager train step {args.shape}", profile_peer(steps[1]), args.top)


if __name__ == "__main__":
    main()
