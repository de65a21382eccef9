"""train.py / eval.py end to end on a tiny real frame tree (PYNATIVE, 32x32 crops, 9 frames)."""
import json
import re

import cv2
import numpy as np
import pytest
import mindspore as ms

from src.model.i3d import build_i3d
from src.train.lr_schedule import step_decay
from src.data.loader.holdout import hold_out
from src.data.loader.clip_dataset import ClipDataset
from src.evaluate.confusion import read_confusion_csv
from src.train.run_history import read_history
from tests.fixtures.network import reinitialise
from tests.fixtures.runs import LABELS, TINY, check_eval_report, ckpt, make_trees, run

FROZEN = ("Conv3d_", "Mixed_3", "Mixed_4")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = make_trees(tmp_path_factory.mktemp("tiny"))
    for mode in ("rgb", "flow"):
        net = reinitialise(build_i3d(mode, 400), seed=1)
        ms.save_checkpoint(net, str(root / f"k400_{mode}.ckpt"))
    return root


@pytest.fixture(scope="module")
def trained(workspace):
    """One epoch of rgb fine-tuning with a held-out validation video per class."""
    out = run("train.py", *TINY, "--mode", "rgb", "--video_path", workspace / "rgb",
              "--annotation_path", workspace / "ann.json", "--checkpoint_path", workspace / "k400_rgb.ckpt",
              "--num_epochs", "1", "--lr", "0.01", "--lr_de_epochs", "1", "--lr_de_rate", "0.5",
              "--val_fraction", "0.34", "--run_dir", workspace / "run")
    return workspace / "run", out


def test_train_log_lines_checkpoint_and_frozen_layers(workspace, trained):
    run_dir, out = trained
    # the original's log lines, once per epoch
    assert re.search(r"^epoch: 1 step: 2, loss is [0-9.]+$", out, re.M), out
    assert re.search(r"^epoch time: [0-9.]+ ms, per step time: [0-9.]+ ms$", out, re.M)
    assert "step size per epoch: 2" in out
    assert re.search(r"validation \(held-out training videos, 2\): epoch 1 accuracy", out)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["train_videos"] == 4 and config["validation_videos"] == 2
    assert (run_dir / "best.ckpt").exists()
    after, before = ckpt(run_dir / "checkpoints" / "i3d-1_2.ckpt"), ckpt(workspace / "k400_rgb.ckpt")
    frozen = [n for n in before if n.startswith(FROZEN)]
    assert len(frozen) == 45 * 5  # 3 stem + 42 Mixed_3/4 units, weight + 4 BN tensors each
    for name in frozen:  # weights and BN statistics bit-identical
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    assert not np.array_equal(after["Mixed_5c_b0.conv3d.weight"], before["Mixed_5c_b0.conv3d.weight"])
    assert not np.array_equal(after["Mixed_5c_b0.bn.bn2d.moving_mean"], before["Mixed_5c_b0.bn.bn2d.moving_mean"])
    assert after["logits_conv3d.weight"].shape == (2, 1024, 1, 1, 1)
    assert int(after["global_step"].reshape(-1)[0]) == 2
    rows = read_history(run_dir)  # metrics.csv: one row for the one epoch, validation figures included
    assert [(r["epoch"], r["steps"], r["lr"]) for r in rows] == [(1, 2, pytest.approx(0.01))]
    assert rows[0]["loss"] == pytest.approx(float(re.search(r"epoch 1 mean loss: ([0-9.]+)", out).group(1)), abs=1e-5)
    assert 0 <= rows[0]["val_top1"] <= rows[0]["val_top5"] <= 1 and rows[0]["val_mean_class"] is not None
    assert rows[0]["epoch_seconds"] > 0 and rows[0]["clips_per_s"] == pytest.approx(4 / rows[0]["epoch_seconds"], rel=1e-3)


def test_resume_continues_epoch_and_learning_rate(workspace, trained):
    run_dir, _ = trained
    first = read_history(run_dir)[0]
    out = run("train.py", *TINY, "--mode", "rgb", "--video_path", workspace / "rgb",
              "--annotation_path", workspace / "ann.json", "--checkpoint_path", workspace / "k400_rgb.ckpt",
              "--num_epochs", "2", "--lr", "0.01", "--lr_de_epochs", "1", "--lr_de_rate", "0.5",
              "--val_fraction", "0.34", "--resume", run_dir)
    assert "epoch 2 starts at lr 0.005" in out, out
    assert re.search(r"^epoch: 2 step: 2, loss is", out, re.M) and not re.search(r"^epoch: 1 step", out, re.M)
    state = ckpt(run_dir / "checkpoints" / "i3d-2_2.ckpt")
    assert int(state["global_step"].reshape(-1)[0]) == 4
    # metrics.csv continued: epoch 1's row as it was, epoch 2 appended at the decayed lr
    rows = read_history(run_dir)
    assert [(r["epoch"], r["steps"]) for r in rows] == [(1, 2), (2, 4)]
    assert rows[0] == first and rows[1]["lr"] == pytest.approx(0.005) and rows[1]["val_top1"] is not None
    # and plot_run draws it (alone and beside another run) to a PNG
    out = run("tools/plot_run.py", run_dir, run_dir, "--out", run_dir / "curves.png")
    image = cv2.imread(str(run_dir / "curves.png"))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 400
    assert "checkpoints: no metrics.csv" in run("tools/plot_run.py", run_dir / "checkpoints", expect=2)
    # a finished run resumes to nothing
    assert "already done" in run("train.py", *TINY, "--mode", "rgb", "--video_path", workspace / "rgb",
                                 "--annotation_path", workspace / "ann.json", "--num_epochs", "2", "--resume", run_dir)


def test_eval_is_deterministic_and_complete(workspace, trained, tmp_path):
    run_dir, _ = trained
    outputs = []
    for i in range(2):
        out = run("eval.py", "--dataset", "hmdb51", "--test_mode", "rgb", "--video_path", workspace / "rgb",
                  "--annotation_path", workspace / "ann.json", "--rgb_path", run_dir / "checkpoints" / "i3d-1_2.ckpt",
                  "--spatial_size", "32", "--test_sample_duration", "9", "--batch_size", "3", "--context", "py",
                  "--output_dir", tmp_path / f"e{i}", "--num_workers", "2")
        check_eval_report(out, tmp_path / f"e{i}", "rgb", ["left_03", "left_04", "right_03", "right_04"])
        outputs.append(json.loads((tmp_path / f"e{i}" / "rgb_predictions.json").read_text()))
        assert cv2.imread(str(tmp_path / f"e{i}" / "rgb_confusion.png")) is not None
    # the confusion CSV counts the predictions, class names on both axes
    names, counts = read_confusion_csv(tmp_path / "e0" / "rgb_confusion.csv")
    assert names == list(LABELS)
    expected = np.zeros((2, 2), int)
    for video in outputs[0]["videos"]:
        expected[names.index(video["label"]), names.index(video["prediction"])] += 1
    np.testing.assert_array_equal(counts, expected)
    summary = json.loads((tmp_path / "e0" / "summary.json").read_text())
    off_diagonal = [{"truth": names[t], "predicted": names[p], "count": int(expected[t, p])}
                    for t in range(2) for p in range(2) if t != p and expected[t, p] > 0]
    off_diagonal.sort(key=lambda pair: -pair["count"])  # stable: ties keep truth-then-prediction order
    assert summary["rgb"]["most_confused"] == off_diagonal
    assert summary["protocol"] == "centred 9 frames, centre crop 32"
    assert outputs[0] == outputs[1]
    # 4 validation videos with batch 3: the partial last batch is kept, every video once
    assert sorted(v["video_id"] for v in outputs[0]["videos"]) == ["left_03", "left_04", "right_03", "right_04"]
    # the whole-video protocol runs too
    run("eval.py", "--dataset", "hmdb51", "--test_mode", "rgb", "--video_path", workspace / "rgb",
        "--annotation_path", workspace / "ann.json", "--rgb_path", run_dir / "checkpoints" / "i3d-1_2.ckpt",
        "--spatial_size", "32", "--test_sample_duration", "0", "--context", "py", "--output_dir", tmp_path / "whole")


def test_joint_fuses_and_refuses_mismatched_sets(workspace, trained, tmp_path):
    run_dir, _ = trained
    flow = build_i3d("flow", 2)
    ms.save_checkpoint(reinitialise(flow, seed=3), str(tmp_path / "flow.ckpt"))
    common = ["--dataset", "hmdb51", "--test_mode", "joint", "--video_path", workspace / "rgb",
              "--annotation_path", workspace / "ann.json", "--video_path_joint_flow", workspace / "flow",
              "--rgb_path", run_dir / "checkpoints" / "i3d-1_2.ckpt", "--flow_path", tmp_path / "flow.ckpt",
              "--spatial_size", "32", "--test_sample_duration", "9", "--context", "py", "--output_dir", tmp_path / "j"]
    out = run("eval.py", *common, "--annotation_path_joint_flow", workspace / "ann.json")
    for name in ("rgb", "flow", "joint"):
        check_eval_report(out, tmp_path / "j", name)
    rgb = json.loads((tmp_path / "j" / "rgb_predictions.json").read_text())["videos"]
    flw = json.loads((tmp_path / "j" / "flow_predictions.json").read_text())["videos"]
    joint = json.loads((tmp_path / "j" / "joint_predictions.json").read_text())["videos"]
    np.testing.assert_allclose(joint[0]["logits"], np.add(rgb[0]["logits"], flw[0]["logits"]), atol=2e-4)
    # a second evaluation into the same folder is refused before any work, unless --overwrite
    out = run("eval.py", *common, "--annotation_path_joint_flow", workspace / "ann.json", expect=2)
    assert "already holds results: pass --overwrite to replace them" in out and "Traceback" not in out
    # a flow annotation without one of the test videos: refused, naming the difference
    bad = json.loads((workspace / "ann.json").read_text())
    del bad["database"]["right_04"]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    out = run("eval.py", *common, "--overwrite", "--annotation_path_joint_flow", tmp_path / "bad.json", expect=2)
    assert "sets differ" in out and "right_04" in out


def test_joint_multi_view_protocol(workspace, trained, tmp_path):
    """2 clips x 3 crops in joint mode: one row per video, joint = rgb + flow, the protocol named in summary.json."""
    run_dir, _ = trained
    flow = reinitialise(build_i3d("flow", 2), seed=3)
    ms.save_checkpoint(flow, str(tmp_path / "flow.ckpt"))
    out = run("eval.py", "--dataset", "hmdb51", "--test_mode", "joint", "--video_path", workspace / "rgb",
              "--annotation_path", workspace / "ann.json", "--video_path_joint_flow", workspace / "flow",
              "--annotation_path_joint_flow", workspace / "ann.json", "--rgb_path", run_dir / "checkpoints" / "i3d-1_2.ckpt",
              "--flow_path", tmp_path / "flow.ckpt", "--spatial_size", "32", "--test_sample_duration", "9",
              "--num_clips", "2", "--num_crops", "3", "--context", "py", "--output_dir", tmp_path / "mv")
    assert "protocol: 2 clips x 3 crops of 9 frames, crop 32" in out
    summary = json.loads((tmp_path / "mv" / "summary.json").read_text())
    assert summary["protocol"] == "2 clips x 3 crops of 9 frames, crop 32"
    rows = {n: json.loads((tmp_path / "mv" / f"{n}_predictions.json").read_text())["videos"] for n in ("rgb", "flow", "joint")}
    assert [v["video_id"] for v in rows["joint"]] == ["left_03", "left_04", "right_03", "right_04"]
    for r, f, j in zip(rows["rgb"], rows["flow"], rows["joint"]):
        np.testing.assert_allclose(j["logits"], np.add(r["logits"], f["logits"]), atol=2e-4)
    out = run("eval.py", "--dataset", "hmdb51", "--test_mode", "rgb", "--video_path", workspace / "rgb",
              "--annotation_path", workspace / "ann.json", "--rgb_path", tmp_path / "flow.ckpt",
              "--test_sample_duration", "0", "--num_clips", "3", expect=2)
    assert "--num_clips 3 needs --test_sample_duration > 0" in out


def test_clear_setup_errors(workspace, tmp_path):
    out = run("train.py", *TINY, "--mode", "flow", "--video_path", workspace / "flow", "--annotation_path",
              workspace / "ann.json", "--checkpoint_path", workspace / "k400_rgb.ckpt", "--run_dir", tmp_path / "r", expect=2)
    assert "is a rgb model but --mode is flow" in out
    out = run("train.py", *TINY, "--mode", "rgb", "--video_path", workspace / "rgb", "--annotation_path",
              workspace / "ann.json", "--amp_level", "O2", "--run_dir", tmp_path / "r2", expect=2)
    assert "--amp_level O2 needs GPU or Ascend" in out
    out = run("eval.py", "--dataset", "hmdb51", "--test_mode", "flow", "--video_path", workspace / "flow",
              "--annotation_path", workspace / "ann.json", "--flow_path", workspace / "k400_rgb.ckpt", expect=2)
    assert "rgb model" in out


def test_loss_stays_finite_where_the_softmax_underflows():
    """MindSpore's SoftmaxCrossEntropyWithLogits gives inf once the true class is ~88 below the top logit;
    the training loss must give the value (here the mean of 50 and 100), and the same as it elsewhere."""
    import mindspore as ms
    from mindspore import nn

    from src.train.trainer import classification_loss

    labels = ms.Tensor(np.array([1, 1], np.int32))
    far = ms.Tensor(np.array([[0.0, -50.0], [0.0, -100.0]], np.float32))
    assert float(classification_loss()(far, labels).asnumpy()) == pytest.approx(75.0)
    rng = np.random.default_rng(0)
    logits = ms.Tensor(rng.normal(0, 3, (8, 51)).astype(np.float32))
    targets = ms.Tensor(rng.integers(0, 51, 8).astype(np.int32))
    want = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")(logits, targets).asnumpy()
    assert float(classification_loss()(logits, targets).asnumpy()) == pytest.approx(float(want), rel=1e-5)


def test_step_decay_schedule():
    lr = step_decay(0.01, 0.5, 5, num_epochs=40, steps_per_epoch=3)
    assert lr.shape == (120,)
    assert lr[0] == pytest.approx(0.01) and lr[14] == pytest.approx(0.01) and lr[15] == pytest.approx(0.005)
    assert lr[-1] == pytest.approx(0.01 * 0.5 ** 7)  # the original's rgb epochs 36-40: 7.8125e-5
    assert step_decay(0.01, 0.5, 1, 20, 1, lr_min=1e-4)[-1] == pytest.approx(1e-4)


def test_hold_out_takes_training_videos_per_class(workspace):
    source = ClipDataset(workspace / "rgb", workspace / "ann.json", "rgb", "training", True, 9, 32)
    train, val = hold_out(source, 0.34, seed=5, val_duration=9)
    assert len(train) == 4 and len(val) == 2
    assert {s.label for s in val.samples} == {0, 1} and not val.train
    assert not {s.video_id for s in train.samples} & {s.video_id for s in val.samples}
    assert all(s.video_id.endswith(("00", "01", "02")) for s in val.samples)  # never the test split


def test_eval_runs_an_exported_mindir(workspace, trained, tmp_path):
    """eval.py takes an exported MINDIR in place of the checkpoint and gives the same logits."""
    run_dir, _ = trained
    ckpt_file = run_dir / "checkpoints" / "i3d-1_2.ckpt"
    run("export.py", "--checkpoint_path", ckpt_file, "--mode", "rgb", "--file_name", tmp_path / "tiny",
        "--file_format", "MINDIR", "--batch_size", "2", "--sample_duration", "9", "--spatial_size", "32")
    common = ["--dataset", "hmdb51", "--test_mode", "rgb", "--video_path", workspace / "rgb", "--annotation_path",
              workspace / "ann.json", "--spatial_size", "32", "--test_sample_duration", "9", "--batch_size", "3"]
    results = {}
    for name, model in (("ckpt", ckpt_file), ("mindir", tmp_path / "tiny.mindir")):
        run("eval.py", *common, "--rgb_path", model, "--output_dir", tmp_path / name)
        results[name] = json.loads((tmp_path / name / "rgb_predictions.json").read_text())["videos"]
    assert [v["video_id"] for v in results["ckpt"]] == [v["video_id"] for v in results["mindir"]]
    for a, b in zip(results["ckpt"], results["mindir"]):
        np.testing.assert_allclose(a["logits"], b["logits"], atol=1e-4)
    out = run("eval.py", *common[:-4], "--spatial_size", "32", "--test_sample_duration", "0",
              "--rgb_path", tmp_path / "tiny.mindir", expect=2)
    assert "fixed clip length" in out


def test_non_finite_loss_stops_with_a_message(workspace, tmp_path):
    """An absurd learning rate drives the loss to inf/NaN: training stops at once, exit 3, naming the step."""
    out = run("train.py", *TINY, "--mode", "rgb", "--video_path", workspace / "rgb", "--annotation_path",
              workspace / "ann.json", "--num_epochs", "3", "--lr", "1e30", "--run_dir", tmp_path / "nan", expect=3)
    assert re.search(r"loss is (nan|inf) at epoch \d+ step \d+: training stopped", out), out
    assert not (tmp_path / "nan" / "checkpoints" / "i3d-3_2.ckpt").exists()
