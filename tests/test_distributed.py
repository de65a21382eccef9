"""Data-parallel training under msrun on CPU: 2 workers through scripts/run_distribute_train.sh, then eval.py.

One run (the machine may have 2 cores); the tests read what it left: per-rank logs and run folders,
the video ids each rank's sampler handed out per epoch, and the two ranks' final checkpoints.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import mindspore as ms

from src.data.loader.clip_dataset import ClipDataset
from src.model.i3d import build_i3d
from src.train.run_folder import read_shard
from tests.fixtures.shared import REPO
from tests.fixtures.network import reinitialise
from tests.fixtures.runs import TINY, check_eval_report, ckpt, make_trees, run

EPOCHS, TRAIN_PER_CLASS, TIMEOUT_S = 2, 4, 300
# Run by each msrun worker: the same start passes the check, a per-rank seed is refused.
SAME_START_SCRIPT = """
import mindspore as ms
from types import SimpleNamespace
from src.train.distributed import RankMismatch, check_same_start, setup_distribution
ms.set_context(mode=ms.PYNATIVE_MODE)
rank, size = setup_distribution(SimpleNamespace(distributed=True))
for offset in (0, rank):
    ms.set_seed(1 + offset)
    try:
        check_same_start(ms.nn.Dense(4, 3), size)
        print("same start accepted", flush=True)
    except RankMismatch as exc:
        print("refused:", exc, flush=True)
"""


def find_msrun():
    """msrun on PATH or beside this Python (the venv's bin), else None."""
    beside = Path(sys.executable).parent / "msrun"
    return shutil.which("msrun") or (str(beside) if beside.exists() else None)


def worker_env(**extra):
    """This environment without a caller's multi-host settings, with `python` = this interpreter first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("MASTER_PORT", "NODE_NUM", "NODE_RANK", "MASTER_ADDR")}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", **extra)
    return env


def require_msrun():
    msrun = find_msrun()
    if msrun is None:
        pytest.skip("msrun (MindSpore's launcher, installed with mindspore) is not on PATH nor beside "
                    f"{sys.executable}; run the tests with the project's environment: make test, or "
                    ".venv/bin/python -m pytest tests")
    return msrun


def run_with_timeout(cmd, cwd, env, timeout):
    """Run cmd in its own session; on timeout SIGINT it (msrun then kills its workers), then SIGKILL."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        pytest.fail(f"{cmd[1]} did not finish in {timeout} s\n{out[-3000:]}")
    return proc.returncode, out


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """(output folder, data root, launcher output) of a 2-rank, 2-epoch rgb fine-tuning run."""
    msrun = require_msrun()
    root = make_trees(tmp_path_factory.mktemp("dist"), train_per_class=TRAIN_PER_CLASS, val_per_class=1)
    ms.save_checkpoint(reinitialise(build_i3d("rgb", 400), seed=1), str(root / "k400_rgb.ckpt"))
    env = worker_env(PYTHON=sys.executable, MSRUN=msrun)
    rc, out = run_with_timeout(
        ["bash", str(REPO / "scripts" / "run_distribute_train.sh"), "2", "none", "hmdb51", "rgb", str(EPOCHS),
         str(root / "rgb"), str(root / "ann.json"), str(root / "k400_rgb.ckpt"), *TINY,
         "--context", "gr", "--num_workers", "2", "--lr", "0.01"],  # the defaults users run: GRAPH, worker processes
        cwd=root, env=env, timeout=TIMEOUT_S)
    output = root / "output_distribute"
    logs = "".join(f"\n--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted((output / "logs").glob("*.log")))
    assert rc == 0, f"run_distribute_train.sh exit {rc}\n{out[-3000:]}{logs}"
    return output, root, out


def test_both_ranks_finish_with_their_own_logs_and_folders(job):
    output, _, out = job
    assert "master 127.0.0.1:" in out
    assert (output / "logs" / "scheduler.log").exists()
    for rank in (0, 1):
        log = (output / "logs" / f"worker_{rank}.log").read_text()
        assert f"epoch: {EPOCHS} step: 2, loss is" in log and "Finished training." in log, log[-3000:]
        run_dir = output / f"hmdb51_rgb_device{rank}"
        assert (run_dir / "checkpoints" / f"i3d-{EPOCHS}_2.ckpt").exists()
        config = (run_dir / "config.json").read_text()
        assert f'"rank": {rank}' in config and '"group_size": 2' in config and '"distributed": true' in config


def test_ranks_hold_bit_identical_trained_models(job):
    output, root, _ = job
    final = [ckpt(output / f"hmdb51_rgb_device{r}" / "checkpoints" / f"i3d-{EPOCHS}_2.ckpt") for r in (0, 1)]
    assert sorted(final[0]) == sorted(final[1])
    for name in final[0]:  # weights, BN statistics (averaged each epoch), optimizer state
        np.testing.assert_array_equal(final[0][name], final[1][name], err_msg=name)
    before = ckpt(root / "k400_rgb.ckpt")
    assert final[0]["logits_conv3d.weight"].shape == (2, 1024, 1, 1, 1)
    assert not np.array_equal(final[0]["Mixed_5c_b0.conv3d.weight"], before["Mixed_5c_b0.conv3d.weight"])
    assert int(final[0]["global_step"].reshape(-1)[0]) == EPOCHS * 2


def test_each_rank_trains_on_its_own_half_of_the_data(job):
    output, root, _ = job
    videos = ClipDataset(root / "rgb", root / "ann.json", "rgb", "training", True, 9, 32).video_ids
    assert len(videos) == 2 * TRAIN_PER_CLASS
    shards = []
    for epoch in range(1, EPOCHS + 1):
        rank0, rank1 = (read_shard(output / f"hmdb51_rgb_device{r}", epoch) for r in (0, 1))
        assert len(rank0) == len(rank1) == len(videos) // 2  # 2 steps of batch 2 each
        assert not set(rank0) & set(rank1) and sorted(rank0 + rank1) == sorted(videos), (epoch, rank0, rank1)
        shards.append(rank0)
    assert shards[0] != shards[1]  # reshuffled every epoch
    assert not (output / "hmdb51_rgb_device0" / "shards" / f"epoch{EPOCHS + 1}.txt").exists()


def test_eval_of_the_distributed_checkpoint(job, tmp_path):
    output, root, _ = job
    out = run("eval.py", "--dataset", "hmdb51", "--test_mode", "rgb", "--video_path", root / "rgb",
              "--annotation_path", root / "ann.json",
              "--rgb_path", output / "hmdb51_rgb_device0" / "checkpoints" / f"i3d-{EPOCHS}_2.ckpt",
              "--spatial_size", "32", "--test_sample_duration", "9", "--context", "py", "--num_workers", "1",
              "--output_dir", tmp_path / "eval")
    check_eval_report(out, tmp_path / "eval", "rgb",
                      ClipDataset(root / "rgb", root / "ann.json", "rgb", "validation", False, 9, 32).video_ids)


def test_ranks_that_start_from_different_weights_are_refused(tmp_path):
    msrun = require_msrun()
    (tmp_path / "same_start.py").write_text(SAME_START_SCRIPT)
    with socket.socket() as s:
        s.bind(("", 0))
        port = s.getsockname()[1]
    rc, out = run_with_timeout([msrun, "--worker_num=2", "--local_worker_num=2", f"--master_port={port}",
                                f"--log_dir={tmp_path / 'logs'}", "--join=True", str(tmp_path / "same_start.py")],
                               cwd=tmp_path, env=worker_env(PYTHONPATH=str(REPO)), timeout=TIMEOUT_S)
    for rank in (0, 1):
        log = (tmp_path / "logs" / f"worker_{rank}.log").read_text()
        assert "same start accepted" in log and "refused: the ranks start from different weights" in log, log[-3000:]
    assert rc == 0, out[-3000:]
