"""Long-video throughput, measured in one run: predict --window (windows/s) and two-stream features
(seconds of compute per minute of video), rgb alone and rgb + flow (TV-L1 included), with the share of
the flow in the two-stream time.

    .venv/bin/python bench/bench_long_video.py [--video V] [--seconds 4] [--crop 112] [--window 16] [--stride 4]

Without --video, a synthetic 25 fps video of --seconds (the demo generator's moving square, 160x120) is
written; without checkpoints, randomly initialised networks are used (the speed does not depend on the
weights). Networks are built before the clock starts; decoding, flow and the forward passes are timed.
"""
import argparse
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import src  # noqa: E402,F401  (CPU speed switch)


def make_video(folder, seconds, fps=25):
    from src.prep.demo_data import DIRECTIONS, render_video, write_video

    path = Path(folder) / "bench.avi"
    frames = render_video(np.random.default_rng(0), DIRECTIONS["move_right"], 120, 160, int(seconds * fps))
    write_video(path, frames, fps)
    return path


def make_checkpoints(folder):
    import mindspore as ms

    from src.model.i3d import build_i3d

    paths = {}
    for mode in ("rgb", "flow"):
        paths[mode] = str(Path(folder) / f"{mode}.ckpt")
        ms.save_checkpoint(build_i3d(mode, 400), paths[mode])
    return paths


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--video", help="video to run on (default: a synthetic one of --seconds)")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--rgb_checkpoint")
    p.add_argument("--flow_checkpoint")
    p.add_argument("--crop", type=int, default=112)
    p.add_argument("--size", type=int, default=128, help="two streams: short side of the frames")
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--stride", type=int, default=4)
    p.add_argument("--batch_size", type=int, default=4)
    p.add_argument("--context", default="gr", choices=("gr", "py"))
    args = p.parse_args(argv)

    from src.infer.features import FeatureOptions, load_network, stream_features, video_frames, _NETWORK
    from src.infer.annotate import input_fps
    from src.infer.predict import build_parser, load_networks, make_plan, predict_windows
    from src.infer.sources import frame_count
    from src.backend.runtime import configure

    configure(None, args.context)
    tmp = tempfile.TemporaryDirectory()
    video = args.video or make_video(tmp.name, args.seconds)
    ckpts = make_checkpoints(tmp.name) if not (args.rgb_checkpoint and args.flow_checkpoint) else \
        {"rgb": args.rgb_checkpoint, "flow": args.flow_checkpoint}
    n = frame_count(video)
    minutes = n / input_fps(video) / 60
    print(f"video {video}: {n} frames, {minutes * 60:.1f} s; crop {args.crop}, window {args.window}, stride "
          f"{args.stride}, batch {args.batch_size}, context {args.context}")
    parser = build_parser("bench")
    common = ["--crop", str(args.crop), "--size", str(args.size), "--window", str(args.window), "--stride",
              str(args.stride), "--batch_size", str(args.batch_size), "--resize", str(args.size)]
    runs = {"rgb": ["--checkpoint", ckpts["rgb"]],
            "rgb+flow": ["--rgb_checkpoint", ckpts["rgb"], "--flow_checkpoint", ckpts["flow"]]}
    results = {}
    for name, model in runs.items():
        plan = make_plan(parser.parse_args([str(video), *model, *common]), say=lambda _: None)
        networks = load_networks(plan)
        warm = args.window + (args.batch_size - 1) * args.stride  # one full batch: compiles the graph
        predict_windows(make_plan(parser.parse_args([str(video), *model, *common, "--num_frames", str(warm)]),
                                  say=lambda _: None), networks)
        prediction, seconds = timed(lambda: predict_windows(plan, networks))
        windows = len(prediction.spans)
        options = FeatureOptions(ckpts["rgb"], "rgb", crop=args.crop, window=args.window, stride=args.stride,
                                 batch_size=args.batch_size, size=args.size, context=args.context,
                                 flow_checkpoint=ckpts["flow"] if name == "rgb+flow" else None)
        load_network(options)
        stream_features(_NETWORK, islice(video_frames(video, options), warm), options.window, options.stride,
                        options.batch_size)  # warm-up: the feature graph compiles for a full batch
        _, feature_seconds = timed(lambda: stream_features(_NETWORK, video_frames(video, options), options.window,
                                                           options.stride, options.batch_size))
        results[name] = (windows, seconds, feature_seconds)
        print(f"{name:9s} predict --window: {windows} windows in {seconds:.2f} s = {windows / seconds:.2f} windows/s; "
              f"features: {feature_seconds:.2f} s = {feature_seconds / minutes:.1f} s per video-minute "
              f"({minutes * 3600 / feature_seconds:.1f} video-minutes per hour)")
    if len(results) == 2:
        from src.infer.video_streams import iter_stream_frames

        _, flow_seconds = timed(lambda: sum(1 for _ in iter_stream_frames(video, ("flow",), args.size, args.crop)))
        both, rgb = results["rgb+flow"][2], results["rgb"][2]
        print(f"two-stream / rgb features time: {both / rgb:.2f}x; decode + TV-L1 alone: {flow_seconds:.2f} s "
              f"({flow_seconds / both:.0%} of the two-stream features time)")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
