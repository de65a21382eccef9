"""Our MindSpore I3D (GRAPH mode) against a PyTorch Inception-I3D of the same architecture, same CPU threads.

Why: "as fast as the PyTorch I3D" needs both sides in one process, alternating round by round, so the
load from other jobs on a shared machine hits both equally; each figure is the best of --rounds.
The PyTorch peer is written here (not piergiaj's code): TF-SAME padding (symmetric padding inside the
conv/pool where TF's is symmetric, an explicit pad where it is not), BatchNorm3d eps 1e-3, same layer
shapes and head; eager mode, torch.optim.Adam. A frozen part (fine-tuning) gets requires_grad=False and
eval-mode BatchNorm on both sides.

    .venv/bin/python bench/bench_peer.py [--rounds 3] [--cases train16,ft16,fwd64,demo]
"""
import argparse
import gc
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn as tnn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import src  # noqa: E402,F401  (CPU speed switch)
import mindspore as ms  # noqa: E402
from mindspore import nn  # noqa: E402

from src.backend.conv3d import build_conv_kernel  # noqa: E402
from src.model.finetune import freeze_all_but, parse_prefixes  # noqa: E402
from src.model.i3d import FEATURE_CHANNELS, INCEPTION_CHANNELS, VALID_ENDPOINTS, build_i3d, inception_out_channels  # noqa: E402
from src.train.trainer import classification_loss  # noqa: E402

DEFAULT_FINETUNE = "logits,Mixed_5"
DEMO_FINETUNE = "logits,Mixed_5,Mixed_4"
# name -> (shape, kind, fine-tune prefixes or None for the whole network, classes)
CASES = {
    "train16": ((1, 3, 16, 224, 224), "train", None, 400),
    "ft16": ((1, 3, 16, 224, 224), "train", DEFAULT_FINETUNE, 400),
    "fwd64": ((1, 3, 64, 224, 224), "forward", None, 400),
    "demo": ((4, 3, 16, 112, 112), "train", DEMO_FINETUNE, 4),
    "demo_full": ((4, 3, 16, 112, 112), "train", None, 4),
}
STEMS = {"Conv3d_1a_7x7": (64, 7, 2), "Conv3d_2b_1x1": (64, 1, 1), "Conv3d_2c_3x3": (192, 3, 1)}
POOLS = {"MaxPool3d_2a_3x3": ((1, 3, 3), (1, 2, 2)), "MaxPool3d_3a_3x3": ((1, 3, 3), (1, 2, 2)),
         "MaxPool3d_4a_3x3": ((3, 3, 3), (2, 2, 2)), "MaxPool3d_5a_2x2": ((2, 2, 2), (2, 2, 2))}


def same_pads(sizes, kernel, stride):
    """TF SAME (front, back) per dimension: the odd extra pad goes at the back."""
    pads = []
    for n, k, s in zip(sizes, kernel, stride):
        total = max(k - s, 0) if n % s == 0 else max(k - n % s, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def padded(x, kernel, stride, value):
    """(input, symmetric padding for the op): pads asymmetric cases explicitly (F.pad: last dim first)."""
    pads = same_pads(x.shape[2:], kernel, stride)
    if all(lo == hi for lo, hi in pads):
        return x, tuple(lo for lo, _ in pads)
    flat = [p for lo_hi in reversed(pads) for p in lo_hi]
    return F.pad(x, flat, value=value), 0


class TorchUnit(tnn.Module):
    def __init__(self, cin, cout, k, s=1):
        super().__init__()
        self.kernel, self.stride = (k,) * 3, (s,) * 3
        self.conv = tnn.Conv3d(cin, cout, k, s, bias=False)
        self.bn = tnn.BatchNorm3d(cout, eps=1e-3, momentum=0.01)
        self.bn.weight.requires_grad_(False)  # DeepMind BN: offset, no scale

    def forward(self, x):
        x, pad = padded(x, self.kernel, self.stride, 0.0)
        x = F.conv3d(x, self.conv.weight, None, self.stride, pad)
        return F.relu(self.bn(x))


class TorchPool(tnn.Module):
    def __init__(self, kernel, stride):
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x):
        x, pad = padded(x, self.kernel, self.stride, float("-inf"))
        return F.max_pool3d(x, self.kernel, self.stride, pad)


class TorchInception(tnn.Module):
    def __init__(self, cin, channels):
        super().__init__()
        b0, b1a, b1b, b2a, b2b, b3b = channels
        self.b0 = TorchUnit(cin, b0, 1)
        self.b1 = tnn.Sequential(TorchUnit(cin, b1a, 1), TorchUnit(b1a, b1b, 3))
        self.b2 = tnn.Sequential(TorchUnit(cin, b2a, 1), TorchUnit(b2a, b2b, 3))
        self.b3 = tnn.Sequential(TorchPool((3, 3, 3), (1, 1, 1)), TorchUnit(cin, b3b, 1))

    def forward(self, x):
        return torch.cat([self.b0(x), self.b1(x), self.b2(x), self.b3(x)], 1)


class TorchHead(tnn.Module):
    """AvgPool (2,7,7) VALID (window shrunk to smaller maps) -> dropout -> 1x1x1 conv -> mean over positions."""

    def __init__(self, num_classes, dropout):
        super().__init__()
        self.dropout = tnn.Dropout(dropout)
        self.conv = tnn.Conv3d(FEATURE_CHANNELS, num_classes, 1, bias=True)

    def forward(self, x):
        t, h, w = x.shape[2:]
        x = F.avg_pool3d(x, (min(2, t), min(7, h), min(7, w)), 1)
        return self.conv(self.dropout(x)).mean(dim=(2, 3, 4))


class TorchI3D(tnn.Module):
    def __init__(self, num_classes=400, in_channels=3, dropout=0.5):
        super().__init__()
        self.endpoints = tnn.ModuleDict()
        cin = in_channels
        for name in VALID_ENDPOINTS:
            if name in STEMS:
                cout, k, s = STEMS[name]
                self.endpoints[name], cin = TorchUnit(cin, cout, k, s), cout
            elif name in POOLS:
                self.endpoints[name] = TorchPool(*POOLS[name])
            elif name in INCEPTION_CHANNELS:
                self.endpoints[name] = TorchInception(cin, INCEPTION_CHANNELS[name])
                cin = inception_out_channels(INCEPTION_CHANNELS[name])
            else:
                self.endpoints[name] = TorchHead(num_classes, dropout)

    def forward(self, x):
        for cell in self.endpoints.values():
            x = cell(x)
        return x

    def freeze_all_but(self, prefixes):
        """Same selection as src.model.finetune: frozen endpoints train nothing and use their stored BN statistics."""
        for name, cell in self.endpoints.items():
            if not name.startswith(prefixes):
                cell.requires_grad_(False)
                cell.eval()
        return [p for p in self.parameters() if p.requires_grad]


def ours(shape, kind, prefixes, num_classes):
    """A callable running one forward (eval) or one GRAPH-mode train step (Adam) of our network."""
    x = ms.Tensor(np.random.uniform(-1, 1, shape).astype(np.float32))
    net = build_i3d("rgb", num_classes, dropout_keep_prob=0.5)
    if kind == "forward":
        net.set_train(False)
        return lambda: net(x).asnumpy()
    params = freeze_all_but(net, parse_prefixes(prefixes)) if prefixes else net.trainable_params()
    y = ms.Tensor(np.zeros(shape[0], np.int32))
    loss = nn.WithLossCell(net, classification_loss())
    step = nn.TrainOneStepCell(loss, nn.Adam(params, learning_rate=1e-4))
    step.set_train(True)
    return lambda: step(x, y).asnumpy()


def peer(shape, kind, prefixes, num_classes):
    """The same for the PyTorch peer (eager)."""
    x = torch.from_numpy(np.random.uniform(-1, 1, shape).astype(np.float32))
    net = TorchI3D(num_classes)
    if kind == "forward":
        net.eval()

        def forward():
            with torch.inference_mode():
                return net(x).numpy()
        return forward
    net.train()
    params = net.freeze_all_but(parse_prefixes(prefixes)) if prefixes else [q for q in net.parameters() if q.requires_grad]
    y = torch.zeros(shape[0], dtype=torch.long)
    opt = torch.optim.Adam(params, lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def run_case(name, rounds):
    """Best-of-rounds seconds (ours, peer); the sides alternate, and who goes first swaps every round."""
    shape, kind, prefixes, classes = CASES[name]
    sides = [ours(shape, kind, prefixes, classes), peer(shape, kind, prefixes, classes)]
    for fn in sides:
        fn()  # warm-up: graph compile, allocator
    best = [math.inf, math.inf]
    for r in range(rounds):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for i in order:
            start = time.perf_counter()
            sides[i]()
            best[i] = min(best[i], time.perf_counter() - start)
    del sides
    gc.collect()
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="timed calls per side and case (best is reported)")
    p.add_argument("--cases", default="train16,ft16,fwd64,demo,demo_full", help=f"comma list of {', '.join(CASES)}")
    p.add_argument("--threads", type=int, default=0,
                   help="threads for both sides (default: MindSpore's runtime_num_threads, the CPU count); "
                        "with 1, MindSpore also runs a single actor thread (no pipelined runtime)")
    args = p.parse_args()
    names = [c for c in args.cases.split(",") if c]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        p.error(f"unknown cases {unknown}; choose from {list(CASES)}")
    ms.set_context(mode=ms.GRAPH_MODE)
    if args.threads:
        ms.set_context(runtime_num_threads=args.threads)
    threads = ms.get_context("runtime_num_threads")
    torch.set_num_threads(threads)
    print(f"threads: MindSpore runtime_num_threads={threads}, torch.get_num_threads()={torch.get_num_threads()}; "
          f"best of {args.rounds} rounds, sides alternating", flush=True)
    print(f"oneDNN ISA cap (both sides): ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', 'unset')}; our "
          f"convolutions: {'the oneDNN kernel' if build_conv_kernel() else 'MindSpore Conv3D'} (src/backend/conv3d.py)")
    print(f"{'case':<10} {'shape':>15} {'step':>8} {'trains':>22} {'ours s':>8} {'torch s':>8} {'ours/torch':>10}")
    results = {}
    for name in names:
        shape, kind, prefixes, _ = CASES[name]
        t_ours, t_peer = run_case(name, args.rounds)
        results[name] = (t_ours, t_peer)
        print(f"{name:<10} {'x'.join(map(str, shape)):>15} {kind:>8} {prefixes or 'whole network':>22} "
              f"{t_ours:8.3f} {t_peer:8.3f} {t_ours / t_peer:10.2f}", flush=True)
    for ft, full in (("ft16", "train16"), ("demo", "demo_full")):
        if ft in results and full in results:
            print(f"fine-tune / whole-network step, ours: {ft}/{full} = {results[ft][0] / results[full][0]:.2f} "
                  f"(torch {results[ft][1] / results[full][1]:.2f})")


if __name__ == "__main__":
    main()
