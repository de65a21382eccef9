"""The kernel builder: a cache keyed by everything that changes the binary, a cached library that fails
to load or check rebuilt (never handed to MindSpore), strict mode, and a oneDNN mismatch that falls back
to MindSpore's operators with one warning and the same logits."""
import os
import shutil
import subprocess
import sys
import warnings

import mindspore as ms
import numpy as np
import pytest

from src.backend import cpu_kernels
from tests.fixtures.shared import REPO


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty kernel cache, nothing prepared in this process, no strict mode unless a test sets it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(cpu_kernels.STRICT_VAR, raising=False)
    monkeypatch.delenv(cpu_kernels.EXTRA_FLAGS_VAR, raising=False)
    monkeypatch.delenv(cpu_kernels.ONEDNN_LIBRARY_VAR, raising=False)
    monkeypatch.setattr(cpu_kernels, "_ready", {})
    monkeypatch.setattr(cpu_kernels, "_warned", set())
    return tmp_path


def needs_compiler():
    if cpu_kernels.compiler() is None and not cpu_kernels.strict_kernels():
        pytest.skip("no C++ compiler: the kernels cannot be built here")


def max_pool_gradient(library):
    """A real MindSpore gradient through the kernel at `library` (crashes the process if it is broken)."""
    from mindspore import ops

    from src.backend.max_pool import MaxPool3dSame

    x = ms.Tensor(np.arange(2 * 4 * 6 * 6, dtype=np.float32).reshape(1, 2, 4, 6, 6))
    return ops.GradOperation()(MaxPool3dSame((2, 2, 2), (2, 2, 2), library))(x).asnumpy()


def test_a_truncated_cached_library_is_rebuilt_before_mindspore_loads_it(fresh, capfd):
    needs_compiler()
    library = cpu_kernels.kernel_library("max_pool")
    assert library is not None and "(built;" in capfd.readouterr().err
    size = library.stat().st_size
    with open(library, "r+b") as f:  # a full disk mid-write, after the check was recorded
        f.truncate(size // 3)
    cpu_kernels._ready.clear()
    again = cpu_kernels.kernel_library("max_pool")
    err = capfd.readouterr().err
    assert again == library and library.stat().st_size == size
    # loading it crashes the loading process (SIGBUS: the loader maps past the file's end), here the child's
    assert "rebuilt: the cached one failed (it crashed" in err or "rebuilt: the cached one failed (it cannot" in err
    grad = max_pool_gradient(again)
    assert grad.sum() == 1 * 2 * 2 * 3 * 3  # one unit of gradient per output


def test_a_garbage_library_without_a_record_is_checked_and_rebuilt(fresh, capfd):
    needs_compiler()
    plan, _ = cpu_kernels.build_plan("max_pool")
    plan.library.parent.mkdir(parents=True)
    plan.library.write_bytes(b"\x7fELF not really")
    assert cpu_kernels.kernel_library("max_pool") == plan.library
    assert "rebuilt: the cached one failed" in capfd.readouterr().err
    assert cpu_kernels.checked(plan.library) == "max-pool gradient matches plain loops"


def test_the_cache_key_covers_flags_compiler_and_the_linked_onednn(fresh, monkeypatch):
    needs_compiler()
    plan, why_not = cpu_kernels.build_plan("conv3d")
    assert plan is not None, why_not
    parts = dict(plan.key_parts)
    assert parts["header version"] == "3.9-3.12"
    assert parts["onednn"].endswith(" THREADPOOL") and len(parts["onednn sha256"]) == 64
    assert parts["compiler"].startswith(cpu_kernels.compiler())
    monkeypatch.setenv(cpu_kernels.EXTRA_FLAGS_VAR, "-DNDEBUG")
    assert cpu_kernels.build_plan("conv3d")[0].key != plan.key
    monkeypatch.delenv(cpu_kernels.EXTRA_FLAGS_VAR)
    # another libdnnl.so.3 file (the same release, one byte longer): another key
    copy = fresh / "other" / "libdnnl.so.3"
    copy.parent.mkdir()
    shutil.copyfile(parts["onednn path"], copy)
    with open(copy, "ab") as f:
        f.write(b"\0")
    monkeypatch.setenv(cpu_kernels.ONEDNN_LIBRARY_VAR, str(copy))
    other = cpu_kernels.build_plan("conv3d")[0]
    assert dict(other.key_parts)["onednn"] == parts["onednn"]
    assert other.key != plan.key


def test_strict_mode_makes_an_unbuildable_kernel_an_error(fresh, monkeypatch):
    from src.backend.conv3d import conv3d_same

    monkeypatch.setenv("CXX", "no-such-compiler")
    monkeypatch.setenv(cpu_kernels.STRICT_VAR, "1")
    with pytest.raises(cpu_kernels.KernelUnavailable, match=r"no C\+\+ compiler .*I3D_STRICT_KERNELS=1"):
        conv3d_same(3, 8, (3, 3, 3))
    monkeypatch.setenv(cpu_kernels.STRICT_VAR, "0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cpu_kernels.kernel_library("max_pool") is None
    assert [str(w.message) for w in caught if "unavailable" in str(w.message)] == [
        "CPU kernel max_pool (max_pool3d_grad.cc) unavailable: no C++ compiler (no-such-compiler); "
        "using MindSpore's MaxPool3DGrad (slower on CPU)"]


LOGITS_PROBE = r"""
import sys
import mindspore as ms, numpy as np
from src.backend.runtime import configure
configure("CPU", "gr")                    # the explicit step: kernels prepared, ISA cap decided
from src.backend.conv3d import Conv3dSame
from src.model.i3d import build_i3d
net = build_i3d("rgb", num_classes=7)
if sys.argv[2] == "save":
    ms.save_checkpoint(net, sys.argv[1] + "/net.ckpt")
else:
    ms.load_param_into_net(net, ms.load_checkpoint(sys.argv[1] + "/net.ckpt"))
net.set_train(False)
x = ms.Tensor(np.random.default_rng(0).uniform(-1, 1, (1, 3, 8, 64, 64)).astype(np.float32))
np.save(sys.argv[1] + "/" + sys.argv[2] + ".npy", net(x).asnumpy())
print("CONV", sum(isinstance(c, Conv3dSame) for _, c in net.cells_and_names()))
"""


def test_mismatched_onednn_headers_fall_back_with_one_warning_and_the_same_logits(tmp_path):
    """Declarations claiming oneDNN 3.9 only (as if from 3.9's headers) against MindSpore's 3.10.1: the
    self-check refuses the library, the network runs MindSpore's Conv3D (capped at AVX2 by configure)."""
    if cpu_kernels.compiler() is None and not cpu_kernels.strict_kernels():
        pytest.skip("no C++ compiler: the kernels cannot be built here")
    base = {k: v for k, v in os.environ.items()
            if k not in ("ONEDNN_MAX_CPU_ISA", cpu_kernels.STRICT_VAR, cpu_kernels.EXTRA_FLAGS_VAR)}
    mismatched = {**base, cpu_kernels.EXTRA_FLAGS_VAR: "-DI3D_DNNL_MAX_MINOR=9", "XDG_CACHE_HOME": str(tmp_path)}
    runs = {}
    for role, env in (("save", base), ("load", mismatched)):
        done = subprocess.run([sys.executable, "-c", LOGITS_PROBE, str(tmp_path), role], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        runs[role] = done
    assert "CONV 57" in runs["save"].stdout and "CONV 0" in runs["load"].stdout
    warned = [line for line in runs["load"].stderr.splitlines() if "CPU kernel conv3d" in line]
    assert len(warned) == 1, runs["load"].stderr[-2000:]
    assert "its self-check failed: oneDNN 3.10.1" in warned[0] and "checked for 3.9-3.9" in warned[0]
    assert "using MindSpore's Conv3D" in warned[0]
    ours, theirs = np.load(tmp_path / "save.npy"), np.load(tmp_path / "load.npy")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4 * np.abs(theirs).max())
