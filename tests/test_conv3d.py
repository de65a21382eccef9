"""The oneDNN convolution kernel: same output and gradients as nn.Conv3d, same parameter names, and the
plain nn.Conv3d where it cannot be built."""
import os
import sys
import warnings

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

import src  # noqa: F401
from src.backend import cpu_kernels
from src.backend.conv3d import Conv3dSame, build_conv_kernel, conv3d_same, portable_convolutions
from src.model.i3d import build_i3d, parameter_names
from tests.fixtures.gradients import run
from tests.fixtures.real_layers import REAL_LAYERS


@pytest.fixture(scope="module")
def kernel():
    library = build_conv_kernel()
    if library is None:
        pytest.skip("the convolution kernel is unavailable here (the warning says why; I3D_STRICT_KERNELS=1 "
                    "makes it an error): the network uses nn.Conv3d")
    return library


@pytest.mark.parametrize("mode", [ms.GRAPH_MODE, ms.PYNATIVE_MODE])
@pytest.mark.parametrize("shape,cout,kernel_size,stride", [
    ((1, 3, 9, 23, 21), 16, (7, 7, 7), (2, 2, 2)),  # the stem: 3 channels, odd sizes (extra SAME pad at the end)
    ((2, 16, 4, 10, 9), 24, (3, 3, 3), (1, 1, 1)),
    ((1, 24, 3, 7, 7), 8, (1, 1, 1), (1, 1, 1)),
    ((1, 8, 5, 11, 12), 16, (1, 3, 3), (1, 2, 2)),
])
def test_output_and_gradients_equal_nn_conv3d(kernel, mode, shape, cout, kernel_size, stride):
    rng = np.random.default_rng(sum(shape))
    reference = nn.Conv3d(shape[1], cout, kernel_size, stride=stride, pad_mode="same", has_bias=False)
    ours = Conv3dSame(shape[1], cout, kernel_size, stride, kernel)
    weight = rng.normal(0, 0.1, reference.weight.shape).astype(np.float32)
    reference.weight.set_data(ms.Tensor(weight))
    ours.weight.set_data(ms.Tensor(weight))
    x = ms.Tensor(rng.normal(size=shape).astype(np.float32))
    sens = ms.Tensor(rng.normal(size=reference(x).shape).astype(np.float32))
    before = ms.get_context("mode")
    ms.set_context(mode=mode)
    try:
        want, got = run(reference, x, sens), run(ours, x, sens)
    finally:
        ms.set_context(mode=before)
    for name, w, g in zip(("output", "input gradient", "weight gradient"), want, got):
        assert g.shape == w.shape, name
        scale = np.abs(w).max()
        assert scale > 0, name
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-5 * scale, err_msg=name)


def test_network_uses_it_on_cpu_with_unchanged_names(kernel):
    net = build_i3d("rgb", num_classes=5)
    convs = [name for name, cell in net.cells_and_names() if isinstance(cell, Conv3dSame)]
    assert len(convs) == 57  # every unit (the logits conv, with its bias, stays nn.Conv3d)
    names = parameter_names(net)
    assert "Conv3d_1a_7x7.weight" in names and "Mixed_5c_b1b.conv3d.weight" in names
    assert not any("kernel" in n or "cfg" in n for n in names)
    assert len(names) == len(set(names))


def test_groups_and_dilation_are_refused(kernel):
    with pytest.raises(ValueError, match="groups or dilation"):
        Conv3dSame(4, 8, (3, 3, 3), (1, 1, 1), kernel, dilation=2)
    with pytest.raises(ValueError, match="groups or dilation"):
        Conv3dSame(4, 8, (3, 3, 3), (1, 1, 1), kernel, group=2)


def test_portable_convolutions_switch_to_mindspore_conv3d_with_the_same_output(kernel):
    conv = Conv3dSame(3, 8, (3, 3, 3), (2, 2, 2), kernel)
    x = ms.Tensor(np.random.default_rng(0).normal(size=(1, 3, 5, 9, 9)).astype(np.float32))
    ours = conv(x).asnumpy()
    portable_convolutions(conv)
    assert conv.use_kernel is False
    plain = conv(x).asnumpy()
    np.testing.assert_allclose(ours, plain, rtol=0, atol=1e-5 * np.abs(plain).max())


def test_without_its_onednn_library_the_network_uses_nn_conv3d(monkeypatch, tmp_path):
    monkeypatch.delenv(cpu_kernels.STRICT_VAR, raising=False)
    monkeypatch.setenv(cpu_kernels.ONEDNN_LIBRARY_VAR, str(tmp_path / "libdnnl.so.3"))
    monkeypatch.setattr(cpu_kernels, "_ready", {})
    monkeypatch.setattr(cpu_kernels, "_warned", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        conv = conv3d_same(3, 8, (3, 3, 3))
    assert type(conv) is nn.Conv3d
    assert any("libdnnl.so.3 is not a file" in str(w.message) for w in caught)


def mapped(library):
    return any(str(library) in line for line in open("/proc/self/maps"))


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux's /proc/self/maps")
def test_the_library_stays_loaded_after_mindspore_releases_it(kernel):
    """MindSpore dlcloses an aot library once no graph uses it; the kernel's thread-pool workers live in
    its code, so unloading it crashed the process at the next wake-up (seen as a segfault while Python
    built the next nn.Conv3d). Built with -z nodelete, it stays mapped."""
    import gc

    before = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        conv = Conv3dSame(3, 8, (3, 3, 3), (1, 1, 1), kernel)
        conv(ms.Tensor(np.ones((1, 3, 4, 8, 8), np.float32))).asnumpy()
        assert mapped(kernel)
        del conv
        gc.collect()
        assert mapped(kernel), "MindSpore unloaded the kernel library while its thread pool lives in it"
    finally:
        ms.set_context(mode=before)


def test_the_declarations_agree_with_real_onednn_headers():
    """onednn_subset.h against the oneDNN headers the torch wheel ships (3.12.0): same C signatures, same
    enumerator values, release inside the declared range; and a narrower range is refused."""
    import subprocess

    torch = cpu_kernels.package_dir("torch")
    include = torch / "include" if torch else None
    if include is None or not (include / "oneapi" / "dnnl" / "dnnl.h").is_file() or cpu_kernels.compiler() is None:
        pytest.skip("needs g++ and oneDNN headers (the torch wheel's) to compare the declarations with")
    command = [cpu_kernels.compiler(), "-std=c++17", "-fsyntax-only", f"-I{include}",
               str(cpu_kernels.KERNEL_DIR / "onednn_subset_check.cc")]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    narrow = subprocess.run(command + ["-DI3D_DNNL_MAX_MINOR=11"], capture_output=True, text=True, check=False)
    assert narrow.returncode != 0 and "outside the release range" in narrow.stderr


def test_real_layers_equal_mindspore_under_avx2_and_native_isa(kernel, tmp_path):
    """Each ISA setting in its own process; MindSpore's references computed once, at AVX2 (its fast path)."""
    import subprocess

    from tests.fixtures.shared import REPO

    base = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    for role, env in (("reference", {**base, "ONEDNN_MAX_CPU_ISA": "AVX2"}), ("check", base)):
        done = subprocess.run([sys.executable, "-X", "faulthandler", "-m", "tests.fixtures.real_layers", str(tmp_path), role],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-3000:]
        lines = [line.split() for line in done.stdout.splitlines() if line.startswith("LAYER ")]
        assert len(lines) == 2 * len(REAL_LAYERS), done.stdout
        for line in lines:
            # max |ours - MindSpore's| over the largest |value|: float rounding of sums over up to 25k terms
            assert float(line[-1]) < 2e-5, f"{role} ({env.get('ONEDNN_MAX_CPU_ISA', 'native')}): {' '.join(line)}"
