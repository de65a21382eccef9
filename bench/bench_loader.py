"""Training-pipeline throughput against the bare cost of decoding the same JPEGs.

Writes its own 240x320 JPEG frame tree to a temporary folder, then measures, in one run:
  decode     cv2.imread of exactly the frames the pipeline decodes (the floor),
  clip       ClipDataset in-process: window, decode, crop, mirror (no MindSpore), uint8 output
             (the network input contract: scaling is left to the device),
  ms 1 / N   the batched GeneratorDataset with 1 and N workers.
Prints clips/s and the overhead ratios; no assertions (timings depend on the machine).

Usage: .venv/bin/python bench/bench_loader.py [--clips 24] [--workers N]
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.data.layout import frame_path, write_n_frames  # noqa: E402
from src.data.loader.clip_dataset import ClipDataset  # noqa: E402
from src.data.loader.mindspore_dataset import EpochSampler, to_mindspore  # noqa: E402
from src.data.loader.temporal_sampling import clip_indices  # noqa: E402
from src.prep.demo_data import texture  # noqa: E402


def write_tree(root, videos, frames, height, width):
    """Textured frames with a moving square, JPEG quality 90 (about the size of real HMDB frames)."""
    database = {}
    rng = np.random.default_rng(0)
    for v in range(videos):
        folder = Path(root) / "c" / f"v{v}"
        folder.mkdir(parents=True)
        base = cv2.add(texture(rng, height, width, 6), rng.integers(0, 40, (height, width, 3), dtype=np.uint8))
        for i in range(1, frames + 1):
            img = base.copy()
            cv2.rectangle(img, (2 * i, 40), (2 * i + 60, 120), (255, 255, 255), -1)
            cv2.imwrite(str(frame_path(folder, i)), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        write_n_frames(folder, frames)
        database[f"v{v}"] = {"subset": "training", "annotations": {"label": "c", "segment": [1, frames + 1]}}
    ann = Path(root) / "ann.json"
    ann.write_text(json.dumps({"labels": ["c"], "database": database}))
    return ann


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bare_decode(source, keys):
    """Decode (cv2.imread only) the frames that the clips of `keys` use."""
    n = len(source)
    for key in keys:
        epoch, i = divmod(key, n)
        sample = source.samples[i]
        for index in clip_indices(sample.n_frames, source.sample_duration, source.rng(epoch, i)):
            cv2.imread(str(frame_path(sample.video_dir, index)), cv2.IMREAD_COLOR)


def run_mindspore(source, batch_size, workers, processes):
    """Time a full pass through the batched GeneratorDataset (after a warm-up batch); returns (clips, s)."""
    dataset = to_mindspore(source, batch_size, num_workers=workers, python_multiprocessing=processes)
    it = dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)
    next(it)  # worker start-up is not throughput
    start = time.perf_counter()
    count = sum(len(target) for _, target in it)
    return count, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=24, help="clips per measurement")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--batch_size", type=int, default=2)
    parser.add_argument("--frames", type=int, default=64, help="clip length")
    parser.add_argument("--crop", type=int, default=224)
    parser.add_argument("--video_frames", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cv2.setNumThreads(1)

    with tempfile.TemporaryDirectory() as tmp:
        ann = write_tree(tmp, args.clips, args.video_frames, 240, 320)
        source = ClipDataset(Path(tmp), ann, "rgb", "training", train=True, sample_duration=args.frames,
                             spatial_size=args.crop, seed=0)
        keys = list(EpochSampler(len(source), shuffle=True).indices(0))
        bare_decode(source, keys)  # warm the page cache
        # Interleaved rounds, best of each: the machine may be shared, noise only ever adds time.
        best = {"decode": [], "clip": []}
        for _ in range(args.rounds):
            best["decode"].append(timed(lambda: bare_decode(source, keys)))
            best["clip"].append(timed(lambda: all(source[k] is not None for k in keys)))  # clips not kept
        t_decode = min(best["decode"])
        n = len(keys)
        print(f"clip {args.frames}x{args.crop}x{args.crop} rgb from 240x320 JPEGs, {n} clips, "
              f"batch {args.batch_size}, {os.cpu_count()} CPUs, best of {args.rounds} rounds")
        print(f"bare decode (cv2.imread)     : {n / t_decode:7.2f} clips/s  ({n * args.frames / t_decode:7.1f} frames/s)")
        t = min(best["clip"])
        print(f"ClipDataset in-process       : {n / t:7.2f} clips/s  overhead over decode {t / t_decode - 1:+.1%}")
        rate_1 = None
        for workers, processes in [(1, False)] + [(args.workers, p) for p in (True, False)] * (args.workers > 1):
            count, seconds = run_mindspore(source, args.batch_size, workers, processes)
            rate = count / seconds
            rate_1 = rate_1 or rate
            kind = "processes" if processes and workers > 1 else "threads"
            print(f"GeneratorDataset {workers:2d} {kind:9s}: {rate:6.2f} clips/s  overhead over "
                  f"1-process decode {(n / t_decode) / rate - 1:+.1%}  speed-up vs 1 worker {rate / rate_1:.2f}x")


if __name__ == "__main__":
    main()
