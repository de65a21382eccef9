"""The oneDNN convolution kernel: same output and gradients as nn.Conv3d, same parameter names, and the
plain nn.Conv3d where it cannot be built."""
import warnings

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn, ops

import src  # noqa: F401
from src import cpu_kernels
from src.conv3d import Conv3dSame, build_conv_kernel, conv3d_same, portable_convolutions
from src.i3d import build_i3d, parameter_names


@pytest.fixture(scope="module")
def kernel():
    library = build_conv_kernel()
    if library is None:
        pytest.skip("the convolution kernel cannot be built here (no g++ or no oneDNN headers): "
                    "the network uses nn.Conv3d")
    return library


class Grads(nn.Cell):
    """Output, input gradient and weight gradient for a given output gradient."""

    def __init__(self, conv):
        super().__init__()
        self.conv = conv
        self.grad = ops.GradOperation(get_all=True, get_by_list=True, sens_param=True)
        self.weights = ms.ParameterTuple(conv.trainable_params())

    def construct(self, x, sens):
        return self.conv(x), self.grad(self.conv, self.weights)(x, sens)


def run(conv, x, sens):
    out, (inputs, weights) = Grads(conv)(x, sens)
    return out.asnumpy(), inputs[0].asnumpy(), weights[0].asnumpy()


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
