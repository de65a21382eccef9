"""GPU check of the torch TV-L1: pairs/s at batch 16/64/256, GPU memory, agreement with OpenCV's flow.

Needs only torch and numpy (no MindSpore, no opencv-contrib): the real 320x240 pairs and OpenCV's flow of
them ship in tests/data/tvl1_pairs_320x240.npz. Run by scripts/check_flow_gpu.sh.
"""
import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from src.prep.tvl1_torch import agreement, format_agreement, load_reference, measure_throughput  # noqa: E402

LIMITS = {"mean_epe": 0.02, "p99_epe": 0.15}
MIN_WITHIN = 0.997


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batches", default="16,64,256")
    parser.add_argument("--eager", action="store_true", help="also time the unfused (eager) inner step")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("torch sees no GPU: nothing to check (see --device)")
        return 2
    first, second, reference = load_reference(REPO / "tests" / "data" / "tvl1_pairs_320x240.npz")
    print(f"torch {torch.__version__} on {args.device}"
          + (f" ({torch.cuda.get_device_name(args.device)})" if args.device.startswith("cuda") else "")
          + f"; {len(first)} real pairs at {first.shape[2]}x{first.shape[1]}, tiled to each batch size")
    ok = True
    for fused in ([None, False] if args.eager else [None]):
        for batch in [int(b) for b in args.batches.split(",")]:
            if args.device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats(args.device)
            rate, flow = measure_throughput(first, second, batch, args.device, fused=fused)
            memory = torch.cuda.max_memory_allocated(args.device) / 2**30 if args.device.startswith("cuda") else 0
            stats = agreement(reference[: len(flow)], flow)  # batch may hold fewer pairs than shipped
            good = all(stats[k] <= v for k, v in LIMITS.items()) and stats["within_one_level"] >= MIN_WITHIN
            ok &= good
            print(f"{'eager' if fused is False else 'default'} batch {batch:3d}: {rate:8.1f} pairs/s, "
                  f"peak GPU memory {memory:5.2f} GiB; vs OpenCV: {format_agreement(stats)} {'ok' if good else 'OUT OF LIMITS'}")
    print("agreement " + ("within" if ok else "OUT OF") + f" limits (mean <= {LIMITS['mean_epe']}, p99 <= "
          f"{LIMITS['p99_epe']} px, >= {100 * MIN_WITHIN:.1f}% within one level)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
