"""Where a train step's time goes: per-kernel totals of one GRAPH-mode step of our network (MindSpore's
CPU profiler) next to one eager step of bench_peer's PyTorch I3D (torch.profiler, self CPU time).

Why: the peer bench says how far apart the two steps are; this says which kernels make the difference.
MindSpore's profiler names every ops.Custom kernel "Custom" (our convolutions and pool gradient), so
`--onednn` instead reads oneDNN's own per-primitive log (ONEDNN_VERBOSE=1, one child process per side):
implementation (gemm, jit:avx2, jit:avx512_core, ...), pass, calls and milliseconds of one step.

    .venv/bin/python bench/profile_step.py [--shape 1x3x16x224x224] [--finetune logits,Mixed_5] [--top 20] [--onednn]
"""
import argparse
import collections
import csv
import os
import subprocess
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


STEP_MARK = "== timed step =="


def verbose_step(side, shape, finetune, classes):
    """Warm up, print the mark, run one step: oneDNN's verbose lines after the mark are that step's."""
    step = (ours if side == "ours" else peer)(shape, "train", finetune or None, classes)
    step()
    step()
    print(STEP_MARK, flush=True)
    step()
    sys.stdout.flush()


def onednn_totals(args, side):
    """{(primitive, implementation, pass): [calls, ms]} of one step of `side`, from ONEDNN_VERBOSE."""
    command = [sys.executable, __file__, "--verbose_step", side, "--shape", args.shape, "--finetune", args.finetune,
               "--classes", str(args.classes)]
    out = subprocess.run(command, env=dict(os.environ, ONEDNN_VERBOSE="1"), capture_output=True, text=True,
                         check=True).stdout
    totals = collections.defaultdict(lambda: [0, 0.0])
    for line in out.split(STEP_MARK, 1)[1].splitlines():
        fields = line.split(",")
        if line.startswith("onednn_verbose") and "exec" in fields and "cpu" in fields:
            at = fields.index("cpu")
            entry = totals[tuple(fields[at + 1:at + 4])]
            entry[0] += 1
            entry[1] += float(fields[-1])
    return totals


def print_onednn(args):
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "unset")
    for side, title in (("ours", "MindSpore GRAPH"), ("torch", "PyTorch eager")):
        totals = onednn_totals(args, side)
        print(f"\n{title} train step {args.shape}, oneDNN primitives (ONEDNN_MAX_CPU_ISA={isa}): "
              f"{sum(ms_ for _, ms_ in totals.values()):.0f} ms")
        for (prim, impl, kind), (calls, ms_) in sorted(totals.items(), key=lambda kv: -kv[1][1])[:args.top]:
            print(f"  {prim:<20} {impl:<24} {kind:<17} {calls:5d} calls {ms_:8.1f} ms")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="1x3x16x224x224")
    p.add_argument("--finetune", default="", help="fine-tune prefixes (default: the whole network trains)")
    p.add_argument("--classes", type=int, default=400)
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--onednn", action="store_true", help="oneDNN's per-primitive times instead of the profilers'")
    p.add_argument("--verbose_step", choices=("ours", "torch"), help=argparse.SUPPRESS)
    args = p.parse_args()
    shape = tuple(int(v) for v in args.shape.split("x"))
    ms.set_context(mode=ms.GRAPH_MODE)
    torch.set_num_threads(ms.get_context("runtime_num_threads"))
    if args.verbose_step:
        return verbose_step(args.verbose_step, shape, args.finetune, args.classes)
    if args.onednn:
        return print_onednn(args)
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
