"""Small data trains correctly with the defaults (issue 19.4): precise BN makes the running BN statistics that
eval uses those of the data the trained layers see; an epoch of very few steps is warned about.

The end-to-end test is the failure seen on a 9-video set, at tiny sizes: a flow fine-tune of one step per
epoch with the default BN momentum (0.99). Without precise BN its checkpoint predicts one class for every
training video; with it, the training videos are classified as in training.
"""
import json
import re
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from src.model.i3d import build_i3d
from src.train.callbacks import recompute_bn_statistics
from tests.fixtures.shared import REPO
from tests.fixtures.runs import make_trees
from tests.fixtures.network import reinitialise

TINY = ["--dataset", "hmdb51", "--spatial_size", "32", "--train_sample_duration", "9", "--test_sample_duration", "9",
        "--context", "py", "--num_workers", "1"]


def run(script, *args):
    proc = subprocess.run([sys.executable, script, *map(str, args)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, f"{script} exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


class TwoNorms(nn.Cell):
    """A trained BN (batch statistics in training) followed by a frozen one (stored statistics)."""

    def __init__(self):
        super().__init__()
        self.trained = nn.BatchNorm3d(3, momentum=0.99)
        self.frozen = nn.BatchNorm3d(3, momentum=0.99)
        self.frozen.bn2d.use_batch_statistics = False

    def construct(self, x):
        return self.frozen(self.trained(x))


def test_precise_bn_running_statistics_are_the_mean_batch_statistics():
    net = TwoNorms()
    frozen_before = net.frozen.bn2d.moving_mean.asnumpy().copy(), net.frozen.bn2d.moving_variance.asnumpy().copy()
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, 256, (n, 3, 4, 6, 6), dtype=np.uint8) for n in (2, 2, 1)]
    assert recompute_bn_statistics(net, batches) == 1
    # independent: per-channel mean and unbiased variance of each batch of network input (v / 127.5 - 1),
    # averaged over the batches weighted by their clip counts
    means, variances, weights = [], [], []
    for clips in batches:
        scaled = clips.astype(np.float64) / 127.5 - 1
        per_channel = scaled.transpose(1, 0, 2, 3, 4).reshape(3, -1)
        means.append(per_channel.mean(axis=1))
        variances.append(per_channel.var(axis=1, ddof=1))
        weights.append(len(clips))
    np.testing.assert_allclose(net.trained.bn2d.moving_mean.asnumpy(), np.average(means, axis=0, weights=weights),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net.trained.bn2d.moving_variance.asnumpy(),
                               np.average(variances, axis=0, weights=weights), rtol=1e-4)
    np.testing.assert_array_equal(net.frozen.bn2d.moving_mean.asnumpy(), frozen_before[0])
    np.testing.assert_array_equal(net.frozen.bn2d.moving_variance.asnumpy(), frozen_before[1])


@pytest.fixture(scope="module")
def flow_set(tmp_path_factory):
    root = make_trees(tmp_path_factory.mktemp("small"))
    ms.save_checkpoint(reinitialise(build_i3d("flow", 400), seed=1), str(root / "k400_flow.ckpt"))
    return root


def train_and_eval_training_videos(root, name, *extra):
    """One step per epoch (6 training videos, batch 6), default momentum and fine-tuned layers; then the
    final checkpoint's predictions on the training videos."""
    out = run("train.py", *TINY, "--mode", "flow", "--video_path", root / "flow", "--annotation_path",
              root / "ann_flow.json", "--checkpoint_path", root / "k400_flow.ckpt", "--batch_size", 6,
              "--num_epochs", 3, "--lr", "0.01", "--run_dir", root / name, *extra)
    run("eval.py", "--config", root / name / "config.json", "--subset", "training", "--output_dir",
        root / f"{name}_eval", "--batch_size", 6)
    videos = json.loads((root / f"{name}_eval" / "flow_predictions.json").read_text())["videos"]
    return out, [v["prediction"] for v in videos], [v["label"] for v in videos]


def checks_on_the_run(root, run_dir):
    """Lighter checkpoints, sizes from the checkpoint's record for eval and export, labels beside the export."""
    from src.deploy.mindir_runner import read_io_shapes
    from src.train.run_folder import labels_beside

    ckpts = run_dir / "checkpoints"
    newest, older = ms.load_checkpoint(str(ckpts / "i3d-3_1.ckpt")), ms.load_checkpoint(str(ckpts / "i3d-2_1.ckpt"))
    assert "global_step" in newest and "global_step" not in older  # only the newest keeps the optimizer state
    assert not any(name.startswith("moment") for name in older) and set(older) < set(newest)
    assert (ckpts / "i3d-2_1.ckpt").stat().st_size < (ckpts / "i3d-3_1.ckpt").stat().st_size
    out = run("eval.py", "--dataset", "hmdb51", "--test_mode", "flow", "--video_path", root / "flow",
              "--annotation_path", root / "ann_flow.json", "--flow_path", ckpts / "i3d-3_1.ckpt", "--context", "py",
              "--output_dir", root / "recorded_sizes")
    assert "protocol: centred 9 frames, centre crop 32" in out  # the record's, not the defaults 64 and 224
    out = run("export.py", "--checkpoint_path", ckpts / "i3d-3_1.ckpt", "--file_name", root / "flow_model",
              "--batch_size", 1)
    model = root / "flow_model.mindir"
    assert read_io_shapes(model)[0] == (1, 2, 9, 32, 32)
    assert labels_beside(model) == root / "flow_model.labels.txt"
    assert (root / "flow_model.labels.txt").read_text() == "left\nright\n"


def test_one_step_epochs_warn_and_precise_bn_keeps_flow_from_collapsing(flow_set):
    out, predicted, truth = train_and_eval_training_videos(flow_set, "precise")
    assert re.search(r"^warning: an epoch is only 1 step \(6 training videos, --batch_size 6\), 3 optimizer steps",
                     out, re.M), out
    assert "precise BN: running statistics of" in out
    assert len(set(predicted)) == 2 and np.mean(np.array(predicted) == np.array(truth)) >= 5 / 6, (predicted, truth)
    checks_on_the_run(flow_set, flow_set / "precise")

    out, predicted, truth = train_and_eval_training_videos(flow_set, "running_averages", "--precise_bn_clips", 0)
    assert "without precise BN the running BN statistics would still be 97% the pretrained ones" in out
    assert len(set(predicted)) == 1, (predicted, truth)  # the collapse precise BN prevents
