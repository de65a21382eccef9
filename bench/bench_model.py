"""Model throughput: forward and train-step clips/s in GRAPH and PYNATIVE mode, and achieved GFLOP/s
next to a matmul's GFLOP/s measured in the same run (the machine's own yardstick).

    .venv/bin/python bench/bench_model.py [--repeats 3] [--shapes 1x3x64x224x224,2x3x16x112x112]
"""
import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import src  # noqa: E402,F401  (CPU speed switch)
import mindspore as ms  # noqa: E402
from mindspore import nn, ops  # noqa: E402

from src.i3d import INCEPTION_CHANNELS, build_i3d  # noqa: E402


def i3d_forward_flops(c, t, h, w, num_classes=400):
    """Multiply-adds x 2 of every convolution (TF SAME output sizes); pooling/BN are negligible."""
    flops = 0

    def conv(cin, cout, k, t, h, w):
        return 2 * cin * cout * k ** 3 * t * h * w

    t, h, w = math.ceil(t / 2), math.ceil(h / 2), math.ceil(w / 2)
    flops += conv(c, 64, 7, t, h, w)
    h, w = math.ceil(h / 2), math.ceil(w / 2)
    flops += conv(64, 64, 1, t, h, w) + conv(64, 192, 3, t, h, w)
    h, w = math.ceil(h / 2), math.ceil(w / 2)
    cin = 192
    for name, (b0, b1a, b1b, b2a, b2b, b3b) in INCEPTION_CHANNELS.items():
        if name == "Mixed_4b":
            t, h, w = math.ceil(t / 2), math.ceil(h / 2), math.ceil(w / 2)
        if name == "Mixed_5b":
            t, h, w = math.ceil(t / 2), math.ceil(h / 2), math.ceil(w / 2)
        flops += (conv(cin, b0, 1, t, h, w) + conv(cin, b1a, 1, t, h, w) + conv(b1a, b1b, 3, t, h, w)
                  + conv(cin, b2a, 1, t, h, w) + conv(b2a, b2b, 3, t, h, w) + conv(cin, b3b, 1, t, h, w))
        cin = b0 + b1b + b2b + b3b
    return flops + 2 * cin * num_classes * max(t - 1, 1)


def best_time(fn, repeats):
    fn()  # warm-up (and graph compile)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(repeats):
    n = 1024
    a = ms.Tensor(np.random.rand(n, n).astype(np.float32))
    b = ms.Tensor(np.random.rand(n, n).astype(np.float32))
    return 2 * n ** 3 / best_time(lambda: ops.matmul(a, b).asnumpy(), repeats) / 1e9


def bench_shape(shape, mode, repeats):
    ms.set_context(mode=ms.GRAPH_MODE if mode == "GRAPH" else ms.PYNATIVE_MODE)
    n, c, t, h, w = shape
    x = ms.Tensor(np.random.uniform(-1, 1, shape).astype(np.float32))
    y = ms.Tensor(np.zeros(n, np.int32))
    net = build_i3d("rgb" if c == 3 else "flow", 400, dropout_keep_prob=0.5)
    net.set_train(False)
    fwd = best_time(lambda: net(x).asnumpy(), repeats)
    loss = nn.WithLossCell(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"))
    step = nn.TrainOneStepCell(loss, nn.Adam(net.trainable_params(), learning_rate=1e-4))
    step.set_train(True)
    train = best_time(lambda: step(x, y).asnumpy(), repeats)
    flops = i3d_forward_flops(c, t, h, w)
    return fwd, train, flops


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--shapes", default="1x3x64x224x224,2x3x16x112x112")
    p.add_argument("--modes", default="GRAPH,PYNATIVE")
    args = p.parse_args()
    mm = matmul_gflops(5)
    print(f"matmul 1024^3 float32: {mm:.1f} GFLOP/s (same process, same threads)")
    print(f"{'shape':>16} {'mode':>8} {'fwd clips/s':>12} {'fwd GFLOP/s':>12} {'% of mm':>8} "
          f"{'train clips/s':>14} {'train GFLOP/s':>14}")
    results = {}
    for shape_text in args.shapes.split(","):
        shape = tuple(int(v) for v in shape_text.split("x"))
        for mode in args.modes.split(","):
            fwd, train, flops = bench_shape(shape, mode, args.repeats)
            n = shape[0]
            results[(shape_text, mode)] = (fwd, train)
            print(f"{shape_text:>16} {mode:>8} {n / fwd:12.3f} {n * flops / fwd / 1e9:12.1f} "
                  f"{100 * n * flops / fwd / 1e9 / mm:7.0f}% {n / train:14.3f} {3 * n * flops / train / 1e9:14.1f}",
                  flush=True)
    for shape_text in args.shapes.split(","):
        if (shape_text, "GRAPH") in results and (shape_text, "PYNATIVE") in results:
            g, p_ = results[(shape_text, "GRAPH")], results[(shape_text, "PYNATIVE")]
            print(f"{shape_text}: GRAPH/PYNATIVE speed-up forward {p_[0] / g[0]:.2f}x, train step {p_[1] / g[1]:.2f}x")
    print("(train GFLOP/s counts a step as 3x the forward FLOPs; FLOPs per clip: "
          + ", ".join(f"{s} {i3d_forward_flops(*[int(v) for v in s.split('x')][1:]) / 1e9:.1f} G"
                      for s in args.shapes.split(",")) + ")")


if __name__ == "__main__":
    main()
