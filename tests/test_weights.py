"""pt2ckpt: every public layout converts to the same tensors; bad input is refused, nothing partial."""
import pickle
import subprocess
import sys

import numpy as np
import pytest
import mindspore as ms
import torch

import src  # noqa: F401
from src.model.i3d import build_i3d
from src.checkpoints.checkpoint import CheckpointError, load_i3d, read_checkpoint
from src.checkpoints.convert import ConversionError, convert, convert_file, read_source, detect_layout
from tests.fixtures.shared import REPO, shared_path
from tests.fixtures.network import random_clip

ms.set_context(mode=ms.PYNATIVE_MODE)

# Independent restatement of the source layouts (DESIGN.md section 6), from DeepMind unit paths.
BRANCH_TO_PIERGIAJ = {("Branch_0", "Conv3d_0a_1x1"): "b0", ("Branch_1", "Conv3d_0a_1x1"): "b1a",
                      ("Branch_1", "Conv3d_0b_3x3"): "b1b", ("Branch_2", "Conv3d_0a_1x1"): "b2a",
                      ("Branch_2", "Conv3d_0b_3x3"): "b2b", ("Branch_3", "Conv3d_0b_1x1"): "b3b"}
PIERGIAJ_TO_HASSONY2 = {"b0": "branch_0", "b1a": "branch_1.0", "b1b": "branch_1.1", "b2a": "branch_2.0",
                        "b2b": "branch_2.1", "b3b": "branch_3.1"}


@pytest.fixture(scope="module")
def deepmind_rgb():
    return dict(np.load(shared_path("pretrained", "i3djax_rgb_scratch_k400.npz"), allow_pickle=False))


def to_flow(arrays):
    """A 2-channel DeepMind-layout model: the stem kernel averaged over RGB and repeated."""
    out = dict(arrays)
    k = arrays["params/Conv3d_1a_7x7/Conv_0/kernel"]  # (7,7,7,3,64)
    out["params/Conv3d_1a_7x7/Conv_0/kernel"] = np.repeat(k.mean(axis=3, keepdims=True), 2, axis=3)
    return out


def deepmind_units(arrays):
    return sorted({k.split("/", 1)[1].rsplit("/", 2)[0] for k in arrays if k.startswith("params/")})


def to_torch_layout(arrays, flavour):
    """Build a piergiaj or hassony2 state dict from DeepMind arrays (rename + transpose)."""
    sd = {}
    for path in deepmind_units(arrays):
        parts = path.split("/")
        if parts[0] == "Logits":
            name = "logits" if flavour == "piergiaj" else "conv3d_0c_1x1"
            sd[f"{name}.conv3d.weight"] = arrays[f"params/{path}/Conv_0/kernel"].transpose(4, 3, 0, 1, 2)
            sd[f"{name}.conv3d.bias"] = arrays[f"params/{path}/Conv_0/bias"]
            continue
        if len(parts) == 1:
            name, bn = (parts[0], "bn") if flavour == "piergiaj" else (parts[0].lower(), "batch3d")
        else:
            unit = BRANCH_TO_PIERGIAJ[(parts[1], parts[2])]
            name, bn = ((f"{parts[0]}.{unit}", "bn") if flavour == "piergiaj"
                        else (f"{parts[0].lower()}.{PIERGIAJ_TO_HASSONY2[unit]}", "batch3d"))
        sd[f"{name}.conv3d.weight"] = arrays[f"params/{path}/Conv_0/kernel"].transpose(4, 3, 0, 1, 2)
        beta = arrays[f"params/{path}/BatchNorm_0/bias"]
        sd[f"{name}.{bn}.weight"] = np.ones_like(beta)
        sd[f"{name}.{bn}.bias"] = beta
        sd[f"{name}.{bn}.running_mean"] = arrays[f"batch_stats/{path}/BatchNorm_0/mean"].reshape(-1)
        sd[f"{name}.{bn}.running_var"] = arrays[f"batch_stats/{path}/BatchNorm_0/var"].reshape(-1)
        sd[f"{name}.{bn}.num_batches_tracked"] = np.array(0, dtype=np.int64)
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}


def ckpt_arrays(path):
    return {k: v.asnumpy() for k, v in ms.load_checkpoint(str(path)).items() if not isinstance(v, str)}


def test_pickle_and_npz_give_bit_identical_checkpoints(tmp_path):
    a, b = tmp_path / "from_npz.ckpt", tmp_path / "from_pickle.ckpt"
    info = convert_file(shared_path("pretrained", "i3djax_rgb_scratch_k400.npz"), a)
    convert_file(shared_path("pretrained", "i3djax_i3d-kinetics-400.ckpt"), b)
    assert info["layout"] == "deepmind" and info["num_classes"] == 400 and info["in_channels"] == 3
    assert a.read_bytes() == b.read_bytes()
    params = ckpt_arrays(a)
    assert len(params) == 287
    assert np.all(params["Mixed_4c_b1b.bn.bn2d.gamma"] == 1.0)


@pytest.mark.parametrize("stream", ["rgb", "flow"])
def test_torch_layouts_convert_to_the_npz_tensors(tmp_path, deepmind_rgb, stream):
    arrays = deepmind_rgb if stream == "rgb" else to_flow(deepmind_rgb)
    np.savez(tmp_path / "dm.npz", **arrays)
    ref = tmp_path / "ref.ckpt"
    convert_file(tmp_path / "dm.npz", ref, mode=stream)
    want = ckpt_arrays(ref)
    outs = {}
    for flavour, suffix in (("piergiaj", ".pt"), ("hassony2", ".pth")):
        src_file = tmp_path / f"{flavour}{suffix}"
        torch.save(to_torch_layout(arrays, flavour), src_file)
        out = tmp_path / f"{flavour}.ckpt"
        info = convert_file(src_file, out, mode=stream)
        assert info["layout"] == flavour
        got = ckpt_arrays(out)
        assert list(got) == list(want)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"{flavour} {name}")
        outs[flavour] = out
    # same logits through the network as the npz path (real weights, so the output depends on input)
    x = random_clip((1, 3 if stream == "rgb" else 2, 9, 64, 64), seed=7)
    logits = {}
    for name, path in [("npz", ref)] + list(outs.items()):
        net = load_i3d(path, mode=stream)
        net.set_train(False)
        logits[name] = net(x).asnumpy()
    assert np.ptp(logits["npz"]) > 0.1
    for name in outs:
        np.testing.assert_array_equal(logits[name], logits["npz"])


def test_rgb_to_flow_cross_modality(tmp_path, deepmind_rgb):
    with pytest.raises(ConversionError, match="--rgb_to_flow"):
        convert(deepmind_rgb, "deepmind", mode="flow")
    params, info = convert(deepmind_rgb, "deepmind", mode="flow", rgb_to_flow=True)
    assert info["in_channels"] == 2
    flow_ref, _ = convert(to_flow(deepmind_rgb), "deepmind", mode="flow")
    np.testing.assert_allclose(params[0][1], flow_ref[0][1], rtol=1e-6)


def test_missing_unexpected_and_shape_errors(tmp_path, deepmind_rgb):
    broken = dict(deepmind_rgb)
    del broken["params/Mixed_4d/Branch_1/Conv3d_0b_3x3/Conv_0/kernel"]
    broken["params/Extra/Conv_0/kernel"] = np.zeros(3, np.float32)
    with pytest.raises(ConversionError) as err:
        convert(broken, "deepmind")
    msg = str(err.value)
    assert "1 missing, 1 unexpected" in msg and "Mixed_4d_b1b.conv3d.weight" in msg and "params/Extra" in msg
    wrong = dict(deepmind_rgb)
    wrong["params/Mixed_3c/Branch_0/Conv3d_0a_1x1/Conv_0/kernel"] = np.zeros((1, 1, 1, 256, 99), np.float32)
    with pytest.raises(ConversionError, match="shape mismatch"):
        convert(wrong, "deepmind")
    with pytest.raises(ConversionError, match="unknown checkpoint layout"):
        detect_layout({"foo.weight": np.zeros(1)})


def test_cli_writes_nothing_on_failure(tmp_path, deepmind_rgb):
    broken = dict(deepmind_rgb)
    del broken["batch_stats/Conv3d_2b_1x1/BatchNorm_0/var"]
    np.savez(tmp_path / "broken.npz", **broken)
    out = tmp_path / "out.ckpt"
    proc = subprocess.run([sys.executable, "pt2ckpt.py", f"--pretrained_path={tmp_path / 'broken.npz'}",
                           f"--save_path={out}"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "Conv3d_2b_1x1_bn.bn2d.moving_variance" in proc.stderr
    assert not out.exists() and not list(tmp_path.glob("*.ckpt"))


def test_restricted_unpickler_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps({"params": Evil()}))
    with pytest.raises(ConversionError, match="refusing to unpickle builtins.print"):
        read_source(path)


def test_original_port_checkpoint_with_finetuned_head_and_optimizer_state(tmp_path):
    """The original's fine-tuned files: `logits.logits_conv3d.*` and Adam moments beside the weights."""
    net = build_i3d("rgb", 400)
    net.replace_logits(51)
    entries = []
    for p in net.get_parameters():
        name = "logits." + p.name if p.name.startswith("logits_conv3d") else p.name
        entries.append({"name": name, "data": p.data})
    entries.append({"name": "moment1.Conv3d_1a_7x7.weight", "data": ms.Tensor(np.zeros((64, 3, 7, 7, 7), np.float32))})
    entries.append({"name": "global_step", "data": ms.Tensor(np.array([10], np.int32))})
    orig = tmp_path / "i3d-40_56.ckpt"
    ms.save_checkpoint(entries, str(orig))
    out = tmp_path / "converted.ckpt"
    info = convert_file(orig, out, mode="rgb")
    assert info["layout"] == "mindspore" and info["num_classes"] == 51
    # our loader reads the original file directly too, head renamed explicitly
    params = read_checkpoint(orig)
    assert "logits_conv3d.weight" in params and "logits.logits_conv3d.weight" not in params
    with pytest.raises(CheckpointError, match="flow"):
        load_i3d(orig, mode="flow")

