"""The network: the original's 287 parameter names, TF SAME padding, BN semantics, the heads."""
import math

import numpy as np
import pytest
import mindspore as ms
from mindspore import nn, ops

import src  # noqa: F401
from src.model.i3d import InceptionI3D, I3DHead, Unit3D, build_i3d, parameter_names
from src.model.network_input import ScaledInput
from tests.fixtures.network import reinitialise, random_clip

ms.set_context(mode=ms.PYNATIVE_MODE)

BLOCKS = ["Mixed_3b", "Mixed_3c", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f", "Mixed_5b", "Mixed_5c"]


def original_names():
    """The original port's checkpoint keys, written out from original_spec.md section 1.6."""
    bn = ["moving_mean", "moving_variance", "gamma", "beta"]
    names = []
    for stem in ["Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3"]:
        names += [f"{stem}.weight"] + [f"{stem}_bn.bn2d.{f}" for f in bn]
    for block in BLOCKS:
        for unit in ["b0", "b1a", "b1b", "b2a", "b2b", "b3b"]:
            names += [f"{block}_{unit}.conv3d.weight"] + [f"{block}_{unit}.bn.bn2d.{f}" for f in bn]
    return names + ["logits_conv3d.weight", "logits_conv3d.bias"]


def test_parameter_names_are_the_originals():
    net = build_i3d("rgb", 400)
    names = parameter_names(net)
    assert names == original_names()
    assert len(names) == 287
    assert sum(p.size for p in net.get_parameters()) == 12_711_824
    # conv weights + BN betas + logits weight/bias; gamma (DeepMind BN has no scale) is never trained
    assert len(net.trainable_params()) == 116
    assert net.Conv3d_1a_7x7.Conv3d_1a_7x7.weight.shape == (64, 3, 7, 7, 7)


def test_flow_stem_and_replace_logits_keep_names():
    net = build_i3d("flow", 400)
    net.replace_logits(51)
    names = parameter_names(net)
    assert names == original_names()
    params = {p.name: p for p in net.get_parameters()}
    assert params["Conv3d_1a_7x7.weight"].shape == (64, 2, 7, 7, 7)
    assert params["logits_conv3d.weight"].shape == (51, 1024, 1, 1, 1)
    assert net.num_classes == 51


def test_argument_checks():
    with pytest.raises(ValueError, match="final_endpoint"):
        InceptionI3D(final_endpoint="Mixed_9z")
    with pytest.raises(ValueError, match="in_channels"):
        InceptionI3D(in_channels=4)
    with pytest.raises(ValueError, match="head"):
        InceptionI3D(head="mean")
    with pytest.raises(ValueError, match="mode"):
        build_i3d("depth")


def test_final_endpoint_gives_features():
    net = build_i3d("rgb", final_endpoint="Mixed_4f")
    assert net.endpoints[-1] == "Mixed_4f" and "logits" not in net.endpoints
    net.set_train(False)
    out = net(random_clip((1, 3, 16, 64, 64)))
    # T: 16 -> 8 (stem) -> 4 (MaxPool3d_4a); H: 64 -> 32 -> 16 -> 8 -> 4
    assert out.shape == (1, 832, 4, 4, 4)
    with pytest.raises(ValueError, match="no logits"):
        net.replace_logits(10)


def tf_same_pads(n, k, s):
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("t", [9, 41, 64, 79])
def test_conv_and_pool_padding_is_tf_same(t):
    """Outputs equal a VALID op on an input padded by the TF rule (extra pad at the end)."""
    h = w = 224
    rng = np.random.default_rng(t)
    x = rng.normal(size=(1, 1, t, h, w)).astype(np.float32)
    layers = [("conv", (7, 7, 7), (2, 2, 2)), ("pool", (1, 3, 3), (1, 2, 2)),
              ("pool", (3, 3, 3), (2, 2, 2)), ("pool", (2, 2, 2), (2, 2, 2))]
    for kind, k, s in layers:
        pads = [tf_same_pads(n, kk, ss) for n, kk, ss in zip((t, h, w), k, s)]
        if kind == "conv":
            same = nn.Conv3d(1, 1, k, stride=s, pad_mode="same", has_bias=False)
            valid = nn.Conv3d(1, 1, k, stride=s, pad_mode="valid", has_bias=False)
            valid.weight.set_data(same.weight.data)
            fill = 0.0
        else:
            same = nn.MaxPool3d(k, s, pad_mode="same")
            valid = nn.MaxPool3d(k, s, pad_mode="valid")
            fill = -np.inf
        padded = np.pad(x, [(0, 0), (0, 0)] + pads, constant_values=fill)
        got = same(ms.Tensor(x)).asnumpy()
        want = valid(ms.Tensor(padded)).asnumpy()
        assert got.shape[2:] == tuple(math.ceil(n / ss) for n, ss in zip((t, h, w), s))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=f"{kind} {k}/{s} T={t}")


@pytest.mark.parametrize("t,expected_t", [(9, 2), (64, 8), (79, 10)])
def test_network_time_extent(t, expected_t):
    """Mixed_5c has ceil(T/8) time steps, so the avg head works for any T >= 9."""
    net = build_i3d("rgb", final_endpoint="Mixed_5c")
    net.set_train(False)
    assert net(random_clip((1, 3, t, 32, 32))).shape == (1, 1024, expected_t, 1, 1)


def test_avg_head_is_mean_of_per_step_logits():
    """DeepMind's head: AvgPool (2,7,7) VALID, logits at every remaining step, mean over time."""
    head = I3DHead(num_classes=7, head="avg")
    rng = np.random.default_rng(1)
    w = rng.normal(size=(7, 1024, 1, 1, 1)).astype(np.float32)
    b = rng.normal(size=(7,)).astype(np.float32)
    head.logits_conv3d.weight.set_data(ms.Tensor(w))
    head.logits_conv3d.bias.set_data(ms.Tensor(b))
    head.set_train(False)
    feats = rng.normal(size=(2, 1024, 5, 7, 7)).astype(np.float32)
    pooled = nn.AvgPool3d((2, 7, 7), (1, 1, 1), pad_mode="valid")(ms.Tensor(feats)).asnumpy()  # (2,1024,4,1,1)
    per_step = np.einsum("ncthw,kc->nkt", pooled, w[:, :, 0, 0, 0]) + b[None, :, None]
    want = per_step.mean(axis=2)
    got = head(ms.Tensor(feats)).asnumpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert not np.allclose(per_step[:, :, 0], per_step[:, :, -1], atol=1e-2)  # time really varies


def test_max_head_is_global_max_pool():
    head = I3DHead(num_classes=3, head="max")
    head.set_train(False)
    feats = np.random.default_rng(2).normal(size=(1, 1024, 8, 7, 7)).astype(np.float32)
    w = head.logits_conv3d.weight.asnumpy()[:, :, 0, 0, 0]
    want = feats.max(axis=(2, 3, 4)) @ w.T + head.logits_conv3d.bias.asnumpy()
    np.testing.assert_allclose(head(ms.Tensor(feats)).asnumpy(), want, rtol=1e-4, atol=1e-4)


def test_small_frames_shrink_the_spatial_window():
    net = reinitialise(build_i3d("rgb", num_classes=5))
    net.set_train(False)
    for size in (64, 112, 256):
        assert net(random_clip((1, 3, 16, size, size))).shape == (1, 5)


def test_bn_momentum_weights_the_old_value_and_eps():
    """MindSpore momentum 0.99 means running = 0.99 * old + 0.01 * batch (PyTorch momentum 0.01)."""
    unit = Unit3D(2, 4, (1, 1, 1))
    bn = unit.bn.bn2d
    assert bn.eps == pytest.approx(1e-3)  # (MindSpore stores momentum internally as 1 - momentum)
    unit.set_train(True)
    x = np.random.default_rng(3).normal(2.0, 3.0, size=(2, 2, 3, 4, 4)).astype(np.float32)
    conv_out = unit.conv3d(ms.Tensor(x)).asnumpy()
    old_mean = bn.moving_mean.asnumpy().copy()
    unit(ms.Tensor(x))
    batch_mean = conv_out.mean(axis=(0, 2, 3, 4))
    np.testing.assert_allclose(bn.moving_mean.asnumpy(), 0.99 * old_mean + 0.01 * batch_mean, rtol=1e-4, atol=1e-5)


def test_frozen_unit_uses_and_keeps_stored_statistics():
    unit = Unit3D(2, 4, (1, 1, 1))
    bn = unit.bn.bn2d
    bn.moving_mean.set_data(ms.Tensor(np.full(4, 0.5, np.float32)))
    bn.moving_variance.set_data(ms.Tensor(np.full(4, 4.0, np.float32)))
    unit.freeze()
    unit.set_train(True)
    x = np.random.default_rng(4).normal(size=(2, 2, 3, 4, 4)).astype(np.float32)
    y = unit(ms.Tensor(x)).asnumpy()
    conv_out = unit.conv3d(ms.Tensor(x)).asnumpy()
    want = np.maximum((conv_out - 0.5) / np.sqrt(4.0 + 1e-3), 0)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.asnumpy(), np.full(4, 0.5, np.float32))
    assert not any(p.requires_grad for p in unit.get_parameters())


def test_graph_and_pynative_agree():
    net = reinitialise(build_i3d("rgb", num_classes=6), seed=5)
    net.set_train(False)
    x = random_clip((1, 3, 9, 32, 32), seed=6)
    py = net(x).asnumpy()
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        gr = net(x).asnumpy()
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    np.testing.assert_allclose(gr, py, rtol=1e-5, atol=1e-5)
    assert np.ptp(py) > 1e-2


def test_scaled_input_wrapper_keeps_names_and_scales_uint8():
    """The training input path: uint8 clips scaled on the device equal the float clips, names unchanged."""
    net = reinitialise(build_i3d("rgb", num_classes=5), seed=8)
    wrapped = ScaledInput(net)
    assert [p.name for p in wrapped.get_parameters()] == original_names()
    net.set_train(False)
    u8 = np.random.default_rng(9).integers(0, 256, (1, 3, 9, 32, 32)).astype(np.uint8)
    want = net(ms.Tensor(u8.astype(np.float32) / 127.5 - 1)).asnumpy()
    np.testing.assert_allclose(wrapped(ms.Tensor(u8)).asnumpy(), want, rtol=1e-5, atol=1e-5)
