"""The original port's network, recognised by itself, and self-describing checkpoints end to end.

A checkpoint in the original's layout (fine-tuned head `logits.logits_conv3d.*`, gammas not 1, 51 classes,
optimizer state, no record) must run in predict.py and eval.py as the original network, with logits equal
to an independent PyTorch forward of that network on BGR input (tests/fixtures/original_reference.py).
"""
import json
import re

import cv2
import mindspore as ms
import numpy as np
import pytest

from src.model.arch import network_kwargs
from src.checkpoints.checkpoint import RECORD_KEY, open_checkpoint
from src.model.i3d import build_i3d
from src.train.callbacks import epoch_lines
from tests.fixtures.frame_tree import write_annotation, write_rgb_video
from tests.fixtures.network import reinitialise
from tests.fixtures.original_reference import original_logits
from tests.fixtures.runs import TINY, check_eval_report, make_trees, run

T, SIZE, CLASSES = 8, 32, 51
NOTE = "the original port's fine-tuned checkpoint (head logits.logits_conv3d.*, no record): run as --arch original"


@pytest.fixture(scope="module")
def original_ckpt(tmp_path_factory):
    """(path, arrays) of a checkpoint as the original's fine-tuning writes it."""
    net = reinitialise(build_i3d("rgb", CLASSES, **network_kwargs("original", "rgb")), seed=7)
    rng = np.random.default_rng(8)
    entries, arrays = [], {}
    for p in net.get_parameters():
        value = p.asnumpy()
        if p.name.endswith("gamma"):
            value = rng.uniform(0.5, 1.5, value.shape).astype(np.float32)
        name = "logits." + p.name if p.name.startswith("logits_conv3d") else p.name
        entries.append({"name": name, "data": ms.Tensor(value)})
        arrays[name] = value
    entries += [{"name": "moment1.Mixed_5c_b0.conv3d.weight", "data": ms.Tensor(np.zeros((384, 832, 1, 1, 1), np.float32))},
                {"name": "global_step", "data": ms.Tensor(np.array([2240], np.int32))}]
    path = tmp_path_factory.mktemp("orig") / "i3d-40_56.ckpt"
    ms.save_checkpoint(entries, str(path))
    return path, arrays


def test_original_layout_is_recognised_without_a_record(original_ckpt):
    path, arrays = original_ckpt
    params, record = open_checkpoint(path)
    assert record["arch"] == "original" and not record["recorded"] and record["num_classes"] == CLASSES
    assert "logits_conv3d.bias" in params and not any(k.startswith("logits.") for k in params)
    assert not np.allclose(arrays["Conv3d_1a_7x7_bn.bn2d.gamma"], 1.0)


def test_predict_runs_the_original_network_on_bgr(original_ckpt, tmp_path):
    path, arrays = original_ckpt
    clip = np.random.default_rng(1).uniform(-1, 1, (T, SIZE, SIZE, 3)).astype(np.float32)  # RGB, (T, H, W, C)
    np.save(tmp_path / "clip.npy", clip)
    out = run("predict.py", tmp_path / "clip.npy", "--checkpoint", path, "--save_logits", tmp_path / "l.npy",
              "--context", "py")
    assert out.count(NOTE) == 1, out
    expected = original_logits(arrays, clip[..., ::-1].transpose(3, 0, 1, 2)[None])[0]
    np.testing.assert_allclose(np.load(tmp_path / "l.npy"), expected, rtol=0, atol=1e-4)
    # the deepmind network on the same weights is a different function: the comparison can fail
    assert np.abs(np.load(tmp_path / "l.npy") - original_logits(arrays, clip.transpose(3, 0, 1, 2)[None])[0]).max() > 1e-2


def test_eval_runs_the_original_network_on_frames_as_cv2_reads_them(original_ckpt, tmp_path):
    path, arrays = original_ckpt
    labels = [f"class_{i:02d}" for i in range(CLASSES)]
    rng = np.random.default_rng(2)
    videos = []
    for v, label in enumerate(labels[:3]):
        frames = [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(T)]
        write_rgb_video(tmp_path / "jpg", label, f"v{v}", frames)
        videos.append((f"v{v}", label, "validation"))
    write_annotation(tmp_path / "ann.json", labels, videos)
    out = run("eval.py", "--dataset", "hmdb51", "--test_mode", "rgb", "--rgb_path", path, "--video_path",
              tmp_path / "jpg", "--annotation_path", tmp_path / "ann.json", "--test_sample_duration", T,
              "--spatial_size", SIZE, "--batch_size", 2, "--context", "py", "--num_workers", 1,
              "--output_dir", tmp_path / "out")
    assert out.count(NOTE) == 1, out
    assert re.search(r"^step: 1   acc: [0-9.]+\nstep: 2   acc: [0-9.]+\nrgb accuracy: [0-9.]+\ntotal_time: ", out, re.M), out
    rows = json.loads((tmp_path / "out" / "rgb_predictions.json").read_text())["videos"]
    for row in rows:
        folder = tmp_path / "jpg" / row["label"] / row["video_id"]
        bgr = np.stack([cv2.imread(str(folder / f"image_{i:05d}.jpg")) for i in range(1, T + 1)])
        clip = (bgr.astype(np.float64) / 127.5 - 1).transpose(3, 0, 1, 2)[None]
        np.testing.assert_allclose(row["logits"], original_logits(arrays, clip)[0], rtol=0, atol=1e-4)


def test_log_lines_are_the_original_text():
    assert epoch_lines(1, 56, np.float32(14.464891), 308488.012) == (
        "epoch: 1 step: 56, loss is 14.464891\nepoch time: 308488.012 ms, per step time: 5508.715 ms")


@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory):
    """A tiny --arch original fine-tune: its checkpoints carry the record."""
    root = make_trees(tmp_path_factory.mktemp("rec"))
    net = reinitialise(build_i3d("rgb", 400), seed=1)
    ms.save_checkpoint(net, str(root / "k400.ckpt"))
    out = run("train.py", *TINY, "--mode", "rgb", "--arch", "original", "--video_path", root / "rgb",
              "--annotation_path", root / "ann.json", "--checkpoint_path", root / "k400.ckpt", "--num_epochs", "1",
              "--lr", "0.001", "--run_dir", root / "run")
    return root, out


def test_training_log_keeps_the_original_pair_together(recorded_run):
    _, out = recorded_run
    m = re.search(r"^epoch: 1 step: 3, loss is (\S+)\nepoch time: \d+\.\d{3} ms, per step time: \d+\.\d{3} ms\n"
                  r"epoch 1 mean loss: ", out, re.M)
    assert m, out
    assert str(np.float32(m.group(1))) == m.group(1)  # float32 text as MindSpore prints it, not a float64 repr


def test_record_round_trip_train_to_eval_predict_export(recorded_run, tmp_path):
    root, _ = recorded_run
    ckpt = root / "run" / "checkpoints" / "i3d-1_3.ckpt"
    record = json.loads(ms.load_checkpoint(str(ckpt))[RECORD_KEY])
    assert record["arch"] == "original" and record["head"] == "max" and record["mode"] == "rgb"
    assert record["num_classes"] == 2 and record["class_names"] == ["left", "right"]
    assert record["input"]["channels"] == "R,G,B" and record["input"]["network_reverses_to_bgr"] is True
    # eval: no --arch/--head/--num_classes, and no "original layout" guess (the record says it)
    out = run("eval.py", "--dataset", "hmdb51", "--test_mode", "rgb", "--rgb_path", ckpt, "--video_path", root / "rgb",
              "--annotation_path", root / "ann.json", "--test_sample_duration", 9, "--spatial_size", 32,
              "--context", "py", "--num_workers", 1, "--output_dir", tmp_path / "eval")
    assert "run as --arch original" not in out
    check_eval_report(out, tmp_path / "eval", "rgb")
    # predict: stream and class names from the record
    frames = root / "rgb" / "left" / "left_03"
    out = run("predict.py", frames, "--checkpoint", ckpt, "--crop", 32, "--resize", 32, "--top_k", 2, "--context", "py")
    assert re.search(r"^ 1\. (left|right) ", out, re.M), out
    # export: no --mode, the record's network (max head) goes into the MINDIR
    out = run("export.py", "--checkpoint_path", ckpt, "--file_name", tmp_path / "m", "--batch_size", 1,
              "--sample_duration", 9, "--spatial_size", 32)
    assert (tmp_path / "m.mindir").is_file()


@pytest.mark.parametrize("script,args,message", [
    ("eval.py", ["--arch", "deepmind"], "--arch deepmind contradicts --rgb_path {ckpt}: its record says arch original"),
    ("eval.py", ["--head", "avg"], "--head avg contradicts --rgb_path {ckpt}: its record says head max"),
    ("predict.py", ["--labels", "{labels}"], "lists other classes than --checkpoint {ckpt} records"),
    ("export.py", ["--num_classes", "51"], "--num_classes 51 contradicts --checkpoint_path {ckpt}: its record says"),
])
def test_a_flag_contradicting_the_record_is_refused(recorded_run, tmp_path, script, args, message):
    root, _ = recorded_run
    ckpt = root / "run" / "checkpoints" / "i3d-1_3.ckpt"
    (tmp_path / "labels.txt").write_text("up\ndown\n")
    args = [a.format(labels=tmp_path / "labels.txt") for a in args]
    base = {"eval.py": ["--dataset", "hmdb51", "--test_mode", "rgb", "--rgb_path", ckpt, "--video_path", root / "rgb",
                        "--annotation_path", root / "ann.json", "--output_dir", tmp_path],
            "predict.py": [root / "rgb" / "left" / "left_03", "--checkpoint", ckpt],
            "export.py": ["--checkpoint_path", ckpt, "--file_name", tmp_path / "m"]}[script]
    out = run(script, *base, *args, expect=2)
    assert message.format(ckpt=ckpt) in out and "Traceback" not in out, out


def test_resume_refuses_another_arch(recorded_run):
    root, _ = recorded_run
    out = run("train.py", *TINY, "--mode", "rgb", "--arch", "deepmind", "--video_path", root / "rgb",
              "--annotation_path", root / "ann.json", "--checkpoint_path", root / "k400.ckpt", "--num_epochs", "2",
              "--resume", root / "run", expect=2)
    assert "--arch deepmind contradicts --resume" in out and "arch original" in out, out
