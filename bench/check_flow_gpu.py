"""GPU check of the torch TV-L1 on distinct real pairs: pairs/s at batch 16/64/256, the path that ran,
loop iterations per batch, host syncs per inner iteration, GPU memory and agreement with OpenCV.

Needs only torch and numpy (no MindSpore, no opencv-contrib): 64 distinct real 320x240 pairs (consecutive
frames of a real clip) and OpenCV's flow of them ship in tests/data/tvl1_pairs_320x240.npz
(bench/make_flow_reference.py). Each batch size times a stream of max(4 x batch, 64) pairs cycling
through the distinct pairs, after an untimed stream of `batch` pairs that compiles the kernels and
captures the CUDA graphs. Run by scripts/check_flow_gpu.sh.
"""
import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from src.prep.flow_pairs import load_pairs  # noqa: E402
from src.prep.tvl1_stream import measure_throughput  # noqa: E402
from src.prep.tvl1_torch import agreement, format_agreement  # noqa: E402

LIMITS = {"mean_epe": 0.02, "p99_epe": 0.15}
MIN_WITHIN = 0.997


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batches", default="16,64,256")
    parser.add_argument("--pairs", type=int, default=64, help="distinct pairs used (at most 64)")
    parser.add_argument("--eager", action="store_true", help="also time the eager kernels (no torch.compile)")
    parser.add_argument("--no_graphs", action="store_true", help="no CUDA graphs (blocks launched op by op)")
    args = parser.parse_args()
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print("torch sees no GPU: nothing to check (see --device)")
        return 2
    first, second, reference = (a[: args.pairs] for a in load_pairs(REPO / "tests" / "data" / "tvl1_pairs_320x240.npz"))
    print(f"torch {torch.__version__} on {args.device}" + (f" ({torch.cuda.get_device_name(args.device)})" if cuda else "")
          + f"; {len(first)} distinct real pairs at {first.shape[2]}x{first.shape[1]}")
    ok = True
    for fused in ([None, False] if args.eager else [None]):
        for batch in [int(b) for b in args.batches.split(",")]:
            if cuda:
                torch.cuda.reset_peak_memory_stats(args.device)
            rate, flow, stats, path = measure_throughput(first, second, batch, args.device, fused=fused,
                                                         graphs=False if args.no_graphs else None)
            memory = torch.cuda.max_memory_allocated(args.device) / 2**30 if cuda else 0
            agree = agreement(reference, flow)
            good = all(agree[k] <= v for k, v in LIMITS.items()) and agree["within_one_level"] >= MIN_WITHIN
            ok &= good
            print(f"batch {batch:3d}, path {path[0]}: {rate:8.2f} pairs/s over {stats.pairs} pairs; "
                  f"{stats.per_batch:.0f} loop iterations per batch ({stats.per_batch / stats.per_pair:.2f}x the "
                  f"{stats.per_pair:.0f} a pair needs), {stats.syncs_per_iteration:.3f} host syncs per inner "
                  f"iteration, peak GPU memory {memory:5.2f} GiB")
            print(f"          why: {path[1]}")
            print(f"          vs OpenCV: {format_agreement(agree)} {'ok' if good else 'OUT OF LIMITS'}"
                  + (f"; out of memory, batch halved to {stats.halved}" if stats.halved else ""))
    print("agreement " + ("within" if ok else "OUT OF") + f" limits (mean <= {LIMITS['mean_epe']}, p99 <= "
          f"{LIMITS['p99_epe']} px, >= {100 * MIN_WITHIN:.1f}% within one level)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
