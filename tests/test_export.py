"""export.py: MINDIR round trip, ONNX vs MindSpore (onnxruntime), refusals, and predict.py --mindir.

Every network is re-initialised with informative weights (tests/fixtures/network.py) and clips are
small (T=10, 64x64: odd total padding in T, H and W, so TF's end-heavy SAME padding is exercised).
"""
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest

import export as export_cli
from src.checkpoints.checkpoint import CheckpointError
from src.backend.conv3d import portable_convolutions
from src.deploy.export import ExportError, OnnxWindowHead, export_checkpoint, export_network, onnx_exportable
from src.model.i3d import I3DHead, build_i3d, parameter_names
from src.data.layout import INPUT_CHANNELS
from src.deploy.mindir_runner import MindirError, fit_clip, load_mindir
from tests.fixtures.shared import REPO
from tests.fixtures.network import reinitialise

CLASSES = 7
T, SIZE, BATCH = 10, 64, 2


@pytest.fixture
def context_mode():
    """Set MindSpore's execution mode for one test and restore the previous one."""
    before = ms.get_context("mode")
    yield lambda mode: ms.set_context(mode=mode)
    ms.set_context(mode=before)


def clip_batch(mode, n=BATCH, seed=0):
    shape = (n, INPUT_CHANNELS[mode], T, SIZE, SIZE)
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def small_net(mode="rgb", head="avg", seed=3):
    net = reinitialise(build_i3d(mode, num_classes=CLASSES, head=head), seed)
    net.set_train(False)
    return net


def ms_logits(net, batch):
    return net(ms.Tensor(batch)).asnumpy()


def run_onnx(path, batch):
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: batch})[0]


@pytest.fixture(scope="module")
def rgb_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "rgb7.ckpt"
    ms.save_checkpoint(small_net("rgb"), str(path))
    return path


@pytest.fixture(scope="module")
def cli_mindir(rgb_ckpt, tmp_path_factory):
    """export.py as a user runs it; --num_classes left out so it comes from the checkpoint."""
    out = tmp_path_factory.mktemp("export") / "models"
    proc = subprocess.run(
        [sys.executable, "export.py", "--checkpoint_path", str(rgb_ckpt), "--mode", "rgb",
         "--file_name", str(out / "i3d_rgb"), "--batch_size", str(BATCH), "--sample_duration", str(T),
         "--spatial_size", str(SIZE), "--device_target", "CPU"],
        cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    path = out / "i3d_rgb.mindir"
    assert proc.stdout.strip().splitlines()[-1] == str(path)
    assert sorted(p.name for p in out.iterdir()) == ["i3d_rgb.mindir"]  # no temporary left behind
    return path


def test_cli_mindir_has_the_requested_shapes(cli_mindir):
    runner = load_mindir(cli_mindir)
    assert runner.input_shape == (BATCH, 3, T, SIZE, SIZE)
    assert runner.output_shape == (BATCH, CLASSES)


def test_mindir_round_trip_is_bit_exact(cli_mindir, rgb_ckpt, context_mode):
    context_mode(ms.GRAPH_MODE)
    from src.checkpoints.checkpoint import load_i3d

    # The file holds MindSpore's own Conv3D (export switches the CPU kernel off): compare like with like.
    net = portable_convolutions(load_i3d(rgb_ckpt, mode="rgb"))
    net.set_train(False)
    batch = clip_batch("rgb", n=BATCH + 1)
    runner = load_mindir(cli_mindir)
    np.testing.assert_array_equal(runner(batch[:BATCH]), ms_logits(net, batch[:BATCH]))
    # 3 clips through a batch-2 graph: two calls, the second padded with a zero clip that does not
    # touch the real row. (Against a batch-1 network it differs by ~1e-6: oneDNN's kernels block
    # differently for another N, so bit-exactness holds for the same input shape only.)
    padded = np.concatenate([batch[BATCH:], np.zeros_like(batch[:1])])
    np.testing.assert_array_equal(runner(batch)[BATCH:], ms_logits(net, padded)[:1])


def test_mindir_runner_refuses_other_shapes(cli_mindir):
    runner = load_mindir(cli_mindir)
    with pytest.raises(MindirError, match=r"i3d_rgb\.mindir.*\(N, 3, 10, 64, 64\).*\(1, 3, 10, 32, 32\)"):
        runner(np.zeros((1, 3, T, 32, 32), np.float32))
    assert fit_clip(np.zeros((3, T + 5, SIZE, SIZE)), runner).shape == (3, T, SIZE, SIZE)
    with pytest.raises(MindirError, match=r"i3d_rgb\.mindir.*10,64,64.*8,64,64.*at least 10 frames"):
        fit_clip(np.zeros((3, 8, SIZE, SIZE)), runner)
    with pytest.raises(MindirError, match=r"i3d_rgb\.mindir.*10,64,64.*12,32,32"):
        fit_clip(np.zeros((3, 12, 32, 32)), runner)
    with pytest.raises(MindirError, match=r"i3d_rgb\.mindir is an rgb model.*--mode flow"):
        fit_clip(np.zeros((2, T, SIZE, SIZE)), runner, "flow")
    with pytest.raises(MindirError, match="no such file"):
        load_mindir(cli_mindir.with_name("missing.mindir"))


def test_load_mindir_refuses_other_files(rgb_ckpt, tmp_path):
    with pytest.raises(MindirError, match=r"--rgb_mindir .*rgb7\.ckpt: not a readable single-input MINDIR"):
        load_mindir(rgb_ckpt, flag="--rgb_mindir")


@pytest.mark.parametrize("mode,head", [("rgb", "avg"), ("rgb", "max"), ("flow", "avg"), ("flow", "max")])
def test_onnx_matches_mindspore(mode, head, tmp_path, context_mode):
    context_mode(ms.PYNATIVE_MODE)  # no graph compile for the reference: PYNATIVE and GRAPH agree bitwise
    net = small_net(mode, head)
    batch = clip_batch(mode, n=1, seed=1)
    expected = ms_logits(net, batch)
    names = parameter_names(net)
    path = export_network(net, batch.shape, tmp_path / f"{mode}_{head}", "ONNX")
    assert path == tmp_path / f"{mode}_{head}.onnx"
    got = run_onnx(path, batch)
    assert got.shape == (1, CLASSES)
    assert np.abs(got - expected).max() < 1e-4
    assert expected.std() > 0.1  # informative weights: a wrong padding or BN would show
    import onnx

    assert {i.name for i in onnx.load(str(path)).graph.initializer} >= set(names)


def test_avgpool3d_window_rewritten_identically_for_onnx(tmp_path, context_mode):
    """Frames over 224 leave a final map over 7x7: the avg head then needs AvgPool3D, which ONNX refuses."""
    context_mode(ms.GRAPH_MODE)
    head = reinitialise(I3DHead(CLASSES, "avg"), 5)
    head.set_train(False)
    x = np.random.default_rng(2).uniform(0, 3, (1, 1024, 3, 9, 9)).astype(np.float32)
    with pytest.raises(RuntimeError, match="AvgPool3D"):
        ms.onnx.export(head, ms.Tensor(x), file_name=str(tmp_path / "plain.onnx"))
    names = parameter_names(head)
    rewritten = OnnxWindowHead(head)
    rewritten.set_train(False)
    assert parameter_names(rewritten) == names
    expected = ms_logits(head, x)
    np.testing.assert_array_equal(ms_logits(rewritten, x), expected)
    path = export_network(head, x.shape, tmp_path / "head", "ONNX")
    assert np.abs(run_onnx(path, x) - expected).max() < 1e-5


def test_onnx_rewrite_keeps_the_network_parameters():
    net = small_net("rgb", "avg")
    names = parameter_names(net)
    values = [p.asnumpy() for p in net.get_parameters()]
    onnx_exportable(net)
    assert isinstance(net.logits, OnnxWindowHead)
    assert parameter_names(net) == names
    for before, p in zip(values, net.get_parameters()):
        np.testing.assert_array_equal(before, p.asnumpy())


def test_air_refused_off_ascend_before_any_work(tmp_path, capsys):
    missing = tmp_path / "never_read.ckpt"
    code = export_cli.main(["--checkpoint_path", str(missing), "--mode", "rgb", "--file_format", "AIR",
                            "--device", "CPU", "--file_name", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "AIR needs --device Ascend" in err and "--device CPU" in err
    assert "no such file" not in err and not list(tmp_path.iterdir())


def test_class_count_and_mode_mismatch_name_the_checkpoint(rgb_ckpt, tmp_path):
    with pytest.raises(CheckpointError, match=rf"--num_classes 51 contradicts --checkpoint_path .*{rgb_ckpt.name}: "
                                              rf"its tensors say num_classes {CLASSES}"):
        export_checkpoint(rgb_ckpt, "rgb", tmp_path / "x", num_classes=51)
    with pytest.raises(CheckpointError, match=rf"--checkpoint_path .*{rgb_ckpt.name} is a rgb model, not flow"):
        export_checkpoint(rgb_ckpt, "flow", tmp_path / "x")
    with pytest.raises(ExportError, match="--file_format"):
        export_checkpoint(rgb_ckpt, "rgb", tmp_path / "x", file_format="TFLITE")
    assert not list(tmp_path.iterdir())


def test_failed_export_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "model.mindir"
    target.write_bytes(b"old model")

    def broken_export(net, example, file_name, file_format):
        with open(file_name, "wb") as f:
            f.write(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(ms, "export", broken_export)
    with pytest.raises(RuntimeError, match="disk full"):
        export_network(small_net(), (1, 3, T, SIZE, SIZE), target, "MINDIR")
    assert target.read_bytes() == b"old model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.mindir"]


def run_predict(*args):
    proc = subprocess.run([sys.executable, "predict.py", *map(str, args)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def ranked_classes(stdout):
    return [line.split("logit")[0].strip() for line in stdout.splitlines() if "logit" in line]


def test_predict_mindir_equals_checkpoint(cli_mindir, rgb_ckpt, tmp_path):
    """A clip longer than the export is cut to its first T frames, as --num_frames does with --checkpoint."""
    clip = np.random.default_rng(4).uniform(-1, 1, (T + 3, SIZE, SIZE, 3)).astype(np.float32)
    np.save(tmp_path / "clip.npy", clip)
    from_mindir = run_predict(tmp_path / "clip.npy", "--mindir", cli_mindir, "--top_k", 3,
                              "--save_logits", tmp_path / "mindir.npy")
    from_ckpt = run_predict(tmp_path / "clip.npy", "--checkpoint", rgb_ckpt, "--num_frames", T, "--top_k", 3,
                            "--context", "py", "--save_logits", tmp_path / "ckpt.npy")
    assert f"({T} frames, {SIZE}x{SIZE}, rgb)" in from_mindir
    assert ranked_classes(from_mindir) == ranked_classes(from_ckpt)
    # batch-2 graph vs batch-1 network: float rounding of differently blocked kernels only
    np.testing.assert_allclose(np.load(tmp_path / "mindir.npy"), np.load(tmp_path / "ckpt.npy"), rtol=0, atol=1e-5)


def test_predict_mindir_and_checkpoint_are_exclusive(capsys):
    from src.infer.predict import build_parser

    with pytest.raises(SystemExit):
        build_parser("predict").parse_args(["clip.npy", "--mindir", "a.mindir", "--checkpoint", "a.ckpt"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_full_size_onnx_reproduces_deepmind_kinetics_logits(tmp_path, context_mode):
    """DeepMind's weights at the deployed size (79x224x224 cricket clip) through ONNX give the float64
    reference logits of an independent implementation: the padding, BN and head survive export."""
    from src.checkpoints.checkpoint import load_i3d
    from src.data.media import read_gif_frames
    from src.model.network_input import as_network_input, to_batch
    from src.checkpoints.convert import convert_file
    from tests.fixtures.shared import shared_path

    gif = shared_path("data", "samples", "v_CricketShot_g04_c01_rgb.gif")
    reference = np.load(shared_path("data", "samples", "v_CricketShot_g04_c01_rgb_kinetics400_logits.npy"))
    convert_file(shared_path("pretrained", "i3djax_rgb_scratch_k400.npz"), tmp_path / "k400.ckpt")
    context_mode(ms.GRAPH_MODE)
    batch = to_batch(as_network_input(np.stack(read_gif_frames(gif)).transpose(3, 0, 1, 2)))
    path = export_network(load_i3d(tmp_path / "k400.ckpt", mode="rgb"), batch.shape, tmp_path / "k400", "ONNX")
    logits = run_onnx(path, batch)[0]
    assert np.abs(logits - reference).max() < 1e-4
    assert np.argmax(logits) == np.argmax(reference)
