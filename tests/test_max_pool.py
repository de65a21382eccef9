"""The max pool with the C++ backward: same output and same gradient as nn.MaxPool3d (MaxPool3DGrad)."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

import src  # noqa: F401
from src.model.i3d import build_i3d
from src.backend.max_pool import MaxPool3dSame, build_kernel, max_pool_3d
from tests.fixtures.gradients import pool_and_grad


@pytest.fixture(scope="module")
def kernel():
    library = build_kernel()
    if library is None:
        pytest.skip("no C++ compiler: the network uses nn.MaxPool3d")
    return library


@pytest.mark.parametrize("mode", [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize("shape,kernel_size,stride", [
    ((2, 3, 9, 15, 13), (3, 3, 3), (2, 2, 2)),  # odd sizes: the extra SAME pad at the end
    ((1, 4, 8, 10, 12), (3, 3, 3), (1, 1, 1)),
    ((1, 2, 9, 15, 12), (2, 2, 2), (2, 2, 2)),
    ((1, 2, 4, 16, 15), (1, 3, 3), (1, 2, 2)),
])
def test_output_and_gradient_equal_maxpool3dgrad(kernel, mode, shape, kernel_size, stride):
    """Values rounded to halves make many ties: the gradient must go to the same (first) maximum."""
    rng = np.random.default_rng(sum(shape))
    x = ms.Tensor((np.round(np.maximum(rng.normal(size=shape), 0) * 2) / 2).astype(np.float32))
    reference = nn.MaxPool3d(kernel_size, stride, pad_mode="same")
    sens = ms.Tensor(rng.uniform(size=reference(x).shape).astype(np.float32))
    ms.set_context(mode=mode)
    try:
        want = pool_and_grad(reference, x, sens)
        got = pool_and_grad(MaxPool3dSame(kernel_size, stride, kernel), x, sens)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    np.testing.assert_array_equal(got[0], want[0])
    # Same elements get the gradient (a tie sent elsewhere moves a whole value); where windows overlap,
    # oneDNN's AVX-512 pooling backward adds the contributions in another order (1 ulp; equal at AVX2).
    np.testing.assert_array_equal(got[1] != 0, want[1] != 0)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6, atol=0)
    assert np.count_nonzero(got[1]) > 0


def test_network_uses_it_on_cpu_and_names_are_unchanged(kernel):
    net = build_i3d("rgb", final_endpoint="Mixed_3b")
    assert isinstance(net.MaxPool3d_2a_3x3, MaxPool3dSame)
    assert isinstance(net.Mixed_3b.Mixed_3b_b3a, MaxPool3dSame)
    assert not any("pool" in p.name for p in net.get_parameters())
    assert isinstance(max_pool_3d((2, 2, 2), (2, 2, 2)), MaxPool3dSame)


def test_without_a_compiler_the_network_uses_nn_maxpool3d(monkeypatch, tmp_path):
    from src.backend import cpu_kernels

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no kernel built there yet
    monkeypatch.setenv("CXX", "no-such-compiler")
    monkeypatch.delenv(cpu_kernels.STRICT_VAR, raising=False)
    monkeypatch.setattr(cpu_kernels, "_ready", {})
    with pytest.warns(UserWarning, match=r"CPU kernel max_pool .*unavailable: no C\+\+ compiler"):
        assert build_kernel() is None
    pool = max_pool_3d((3, 3, 3), (1, 1, 1))
    assert isinstance(pool, nn.MaxPool3d) and not isinstance(pool, MaxPool3dSame)
