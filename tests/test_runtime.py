"""The CPU speed switch: AVX2 where MindSpore's own Conv3D runs the convolutions, oneDNN's best where the
project's kernel does, the user's value always; and the network's stem convolution fast either way."""
import os
import subprocess
import sys

import pytest

from src.backend.cpu_kernels import STRICT_VAR, conv_kernel_buildable, strict_kernels
from src.deploy.mindir_runner import MindirError, load_mindir
from src.backend.runtime import ONEDNN_ISA_VAR, prefer_fast_cpu_kernels
from tests.fixtures.shared import REPO

PROBE = r"""
import os, sys, time
import numpy as np
import src
print("ISA", os.environ.get("ONEDNN_MAX_CPU_ISA"))
if len(sys.argv) > 1:
    from mindspore import ops, Tensor
    from src.backend.conv3d import conv3d_same
    from src.backend.runtime import configure
    configure("CPU", "py")                                      # the explicit step: kernels, then the cap
    print("ISA_AFTER_BUILD", os.environ.get("ONEDNN_MAX_CPU_ISA"))
    conv = conv3d_same(3, 64, 7, stride=2)                      # I3D's stem on a 1x3x16x112x112 clip
    print("KIND", type(conv).__name__)
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


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in (ONEDNN_ISA_VAR, STRICT_VAR)}
    env.update(extra)
    return env


def run_probe(env, *args):
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return dict(line.split(" ", 1) for line in proc.stdout.splitlines() if line.split(" ")[0] in ("ISA", "RATIO", "KIND", "ISA_AFTER_BUILD"))


def test_without_the_kernel_the_switch_caps_at_avx2_and_respects_the_user():
    no_compiler = clean_env(CXX="no-such-compiler")
    assert run_probe(no_compiler)["ISA"] == "AVX2"
    assert run_probe({**no_compiler, ONEDNN_ISA_VAR: "SSE41"})["ISA"] == "SSE41"


def test_with_the_kernel_onednn_keeps_its_best_isa():
    if not conv_kernel_buildable() and not strict_kernels():
        pytest.skip("the convolution kernel is unavailable here (docs/cpu_kernels.md): the network uses "
                    "MindSpore's Conv3D (capped at AVX2)")
    assert run_probe(clean_env())["ISA"] == "None"
    assert run_probe(clean_env(**{ONEDNN_ISA_VAR: "AVX2"}))["ISA"] == "AVX2"


@pytest.mark.parametrize("cxx", ["g++", "no-such-compiler", "false"])
def test_the_stem_convolution_runs_on_a_fast_kernel(cxx, tmp_path):
    """The fast stem conv takes ~1.5-2x a matmul of equal FLOPs here; a reference kernel 25-140x longer.
    Every way: the project's kernel (oneDNN's best ISA); MindSpore's Conv3D capped at AVX2 from the start
    (no compiler); and a compiler that fails (`false`): `import src` left the cap off, configure's explicit
    kernel step finds the kernel unavailable and sets it before MindSpore's first op."""
    if cxx == "g++" and not conv_kernel_buildable() and not strict_kernels():
        pytest.skip("the convolution kernel is unavailable here (docs/cpu_kernels.md)")
    # the others: a fresh kernel cache, so that no built kernel is found either
    env = clean_env(CXX=cxx) if cxx == "g++" else clean_env(CXX=cxx, XDG_CACHE_HOME=str(tmp_path))
    out = run_probe(env, "time")
    assert out["KIND"] == ("Conv3dSame" if cxx == "g++" else "Conv3d")
    assert out["ISA_AFTER_BUILD"] == ("None" if cxx == "g++" else "AVX2")
    ratio = float(out["RATIO"])
    assert ratio < 10, f"stem conv ({out['KIND']}) took {ratio:.1f}x a matmul of equal FLOPs: slow oneDNN kernel?"


def test_running_a_mindir_caps_at_avx2_unless_the_user_chose(monkeypatch, tmp_path):
    """An exported MINDIR runs MindSpore's own Conv3D: its runner asks for the cap before loading."""
    monkeypatch.delenv(ONEDNN_ISA_VAR, raising=False)
    with pytest.raises(MindirError):
        load_mindir(tmp_path / "missing.mindir")
    assert os.environ[ONEDNN_ISA_VAR] == "AVX2"
    monkeypatch.setenv(ONEDNN_ISA_VAR, "SSE41")
    assert prefer_fast_cpu_kernels(mindspore_convolutions=True) == "SSE41"
