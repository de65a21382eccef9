"""Host syncs per inner iteration and loop iterations per batch of the torch TV-L1, counted on the CPU.

The PyTorch profiler counts the ops that make a GPU wait for the host (aten::nonzero, aten::item,
aten::_local_scalar_dense) and aten::hypot (two per inner iteration: the loop iterations, independently
of the stream's own count) while a stream of distinct real 320x240 pairs (tests/data, each pair once)
runs through the torch TV-L1 on the CPU. Loop iterations per batch (rows x iterations launched per pair)
are compared with what a pair needs (OpenCV's count per pair, mean over the pairs).
--old FILE profiles an older tvl1_torch.py (e.g. `git show REV:src/prep/tvl1_torch.py > /tmp/old.py`)
on the same pairs in fixed batches, for a before/after. Prints figures, not a test.
Run from the repository root: python bench/bench_tvl1_syncs.py [--pairs 64] [--batch 16] [--old FILE]
"""
import argparse
import importlib.util
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile, schedule  # noqa: E402

from src.prep.flow_pairs import load_pairs  # noqa: E402
from src.prep.tvl1_stream import TVL1Stream  # noqa: E402
from src.prep.tvl1_torch import agreement, format_agreement  # noqa: E402

PAIRS = REPO / "tests" / "data" / "tvl1_pairs_320x240.npz"
SYNC_OPS = ("aten::nonzero", "aten::_local_scalar_dense", "aten::item")
COUNTED = (*SYNC_OPS, "aten::hypot")
# counted in windows on purpose: each window's events are dropped once added up
warnings.filterwarnings("ignore", message="Profiler won't be using warmup")
warnings.filterwarnings("ignore", message="Warning: Profiler clears events")


class OpCounter:
    """Adds up op call counts over profiler windows (each window's events are dropped once counted)."""

    def __init__(self):
        self.counts = dict.fromkeys(COUNTED, 0)

    def __call__(self, prof):
        for event in prof.key_averages():
            if event.key in self.counts:
                self.counts[event.key] += event.count

    def syncs(self):
        """nonzero + _local_scalar_dense (an item() is one _local_scalar_dense: not counted twice)."""
        return self.counts["aten::nonzero"] + self.counts["aten::_local_scalar_dense"]

    def loops(self):
        return self.counts["aten::hypot"] // 2


def run_stream(first, second, batch, block):
    counter = OpCounter()
    stream = TVL1Stream("cpu", batch, block=block)
    for k in range(len(first)):
        stream.add(k, first[k], second[k])
    flow = np.empty((len(first), *first.shape[1:], 2), np.float32)
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU], schedule=schedule(wait=0, warmup=0, active=20),
                 on_trace_ready=counter) as prof:
        while stream.busy():
            for k, f in stream.step():
                flow[k] = f
            prof.step()
    elapsed = time.perf_counter() - start
    return flow, stream.finish_stats(), counter, elapsed, stream.path


def run_old(module_path, first, second, batch):
    spec = importlib.util.spec_from_file_location("tvl1_old", module_path)
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    counter = OpCounter()
    flows, start = [], time.perf_counter()
    for b in range(0, len(first), batch):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            flows.append(old.tvl1_flow(first[b: b + batch], second[b: b + batch]))
        counter(prof)
    return np.concatenate(flows), counter, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=64, help="distinct pairs (each once)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--block", type=int, default=10, help="inner iterations between checks")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--old", help="an older tvl1_torch.py to count the same way (fixed batches)")
    parser.add_argument("--gaps", type=int, default=1,
                        help="G > 1: pair k is frames (k, k + 1 + k %% G) of the shipped clip: more motion, more "
                             "varied convergence; no OpenCV flow for those, so no agreement")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    first, second, reference = load_pairs(PAIRS)
    if args.gaps > 1:
        frames = np.concatenate([first, second[-1:]])
        ks = [k for k in range(len(first)) if k + 1 + k % args.gaps < len(frames)][: args.pairs]
        first, second, reference = frames[ks], frames[[k + 1 + k % args.gaps for k in ks]], None
    first, second = first[: args.pairs], second[: args.pairs]
    reference = None if reference is None else reference[: args.pairs]
    print(f"torch {torch.__version__}, CPU, {args.threads} thread(s); {len(first)} distinct real pairs at "
          f"{first.shape[2]}x{first.shape[1]}" + (f" (frame gaps 1..{args.gaps})" if args.gaps > 1 else "")
          + f", batch {args.batch}")
    if args.old:
        flow, counter, elapsed = run_old(args.old, first, second, args.batch)
        batches = -(-len(first) // args.batch)
        print(f"before ({args.old}, fixed batches): {counter.loops() / batches:.0f} loop iterations per batch, "
              f"{counter.syncs() / max(counter.loops(), 1):.3f} host syncs per inner iteration "
              f"({counter.counts}), {len(first) / elapsed:.2f} pairs/s")
        if reference is not None:
            print(f"  vs OpenCV: {format_agreement(agreement(reference, flow))}")
        old_flow = flow
    flow, stats, counter, elapsed, path = run_stream(first, second, args.batch, args.block)
    print(f"after (stream, block {args.block}, path {path[0]}: {path[1]})")
    print(f"  host syncs per inner iteration: {counter.syncs() / max(counter.loops(), 1):.3f} (profiler: {counter.counts};"
          f" the stream counted {stats.checks} checks in {stats.loop_iterations} loop iterations)")
    print(f"  loop iterations per batch: {stats.per_batch:.0f}; a pair needs {stats.per_pair:.0f} on average "
          f"(max {stats.max_pair_iterations}): {stats.per_batch / stats.per_pair:.3f}x; {len(first) / elapsed:.2f} pairs/s")
    if reference is not None:
        print(f"  vs OpenCV: {format_agreement(agreement(reference, flow))}")
    if args.old:
        print(f"  before and after: largest flow difference {np.abs(flow - old_flow).max():.2g} px")


if __name__ == "__main__":
    main()
