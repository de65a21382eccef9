"""The CPU speed switch: set by the project unless the user chose, and the fast kernel in use."""
import os
import subprocess
import sys

from tests.conftest import REPO

PROBE = r"""
import os, sys, time
import numpy as np
import src
print("ISA", os.environ.get("ONEDNN_MAX_CPU_ISA"))
if len(sys.argv) > 1:
    import mindspore as ms
    from mindspore import nn, ops, Tensor
    ms.set_context(mode=ms.PYNATIVE_MODE)
    conv = nn.Conv3d(3, 64, 7, stride=2, pad_mode="same")      # I3D's stem on a 1x3x16x112x112 clip
    x = Tensor(np.random.rand(1, 3, 16, 112, 112).astype(np.float32))
    flops = 2 * 64 * 3 * 7 ** 3 * 8 * 56 * 56
    n = round((flops / 2) ** (1 / 3))                            # a matmul of equal FLOPs
    a, b = (Tensor(np.random.rand(n, n).astype(np.float32)) for _ in range(2))
    def best(f):
        f(); ts = []
        for _ in range(5):
            t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
        return min(ts)
    print("RATIO", best(lambda: conv(x).asnumpy()) / best(lambda: ops.matmul(a, b).asnumpy()))
"""


def run_probe(env, *args):
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return dict(line.split(" ", 1) for line in proc.stdout.splitlines() if line.split(" ")[0] in ("ISA", "RATIO"))


def test_switch_is_set_by_the_project_and_respects_the_user():
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    assert run_probe(env)["ISA"] == "AVX2"
    assert run_probe({**env, "ONEDNN_MAX_CPU_ISA": "SSE41"})["ISA"] == "SSE41"


def test_small_forward_runs_on_the_fast_kernel():
    """The fast stem conv takes ~1.5-2x a matmul of equal FLOPs here; the reference kernel 25-140x longer."""
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    ratio = float(run_probe(env, "time")["RATIO"])
    assert ratio < 10, f"stem conv took {ratio:.1f}x a matmul of equal FLOPs: slow oneDNN kernel?"
