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

from src.model.i3d import POOLS, VALID_ENDPOINTS, build_i3d, unit_table  # noqa: E402
from src.train.trainer import classification_loss  # noqa: E402


def i3d_forward_flops(c, t, h, w, num_classes=400):
    """Multiply-adds x 2 of every convolution (TF SAME output sizes); pooling/BN are negligible."""
    size = [t, h, w]
    rows, cin = unit_table(c)
    by_endpoint = {}
    for row in rows:
        by_endpoint.setdefault(row[0], []).append(row)
    flops = 0
    for name in VALID_ENDPOINTS[:-1]:
        if name in POOLS:
            size = [math.ceil(s / k) for s, k in zip(size, POOLS[name][1])]
        for _, _, ci, co, kernel, stride in by_endpoint.get(name, []):
            size = [math.ceil(s / k) for s, k in zip(size, stride)]
            flops += 2 * ci * co * math.prod(kernel) * math.prod(size)
    return flops + 2 * cin * num_classes * max(size[0] - 1, 1)


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
    loss = nn.WithLossCell(net, classification_loss())
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
