"""A run repeats bit for bit: `train.py --config RUN/config.json` gives the first run's losses, with the
default two loader processes, even when the repeat shares the machine with busy processes. The first
run's output is checked on the way: the run folder first and last, no MindSpore deprecation advice."""
import subprocess
import sys

import mindspore as ms

from src.model.i3d import build_i3d
from tests.fixtures.network import reinitialise
from tests.fixtures.runs import TINY, make_trees, run, run_process


def test_config_json_repeats_the_losses_on_a_busy_machine(tmp_path):
    root = make_trees(tmp_path)
    ms.save_checkpoint(reinitialise(build_i3d("rgb", 400), seed=1), str(root / "k400_rgb.ckpt"))
    first = root / "first"
    done = run_process("train.py", *TINY, "--num_workers", "2", "--mode", "rgb", "--video_path", root / "rgb",
                       "--annotation_path", root / "ann.json", "--checkpoint_path", root / "k400_rgb.ckpt",
                       "--num_epochs", "3", "--lr", "0.01", "--run_dir", first)
    printed = done.stdout.splitlines()
    assert printed[0] == printed[-1] == f"run folder: {first}", (printed[:3], printed[-3:])
    # no MindSpore advice users cannot follow (UniformReal -> mint.rand has no CPU kernel; nn.Adam's FusedSparseAdam)
    assert "is deprecated" not in done.stdout + done.stderr, done.stderr[-3000:]
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        run("train.py", "--config", first / "config.json", "--run_dir", root / "again")
    finally:
        for process in busy:
            process.kill()
            process.wait()
    losses = (first / "losses.txt").read_text().splitlines()
    # 6 training videos, batch 2: 9 steps, past the 6th dropout call where MindSpore's own CPU Dropout
    # starts to depend on the load
    assert len(losses) == 9, losses
    assert (root / "again" / "losses.txt").read_text().splitlines() == losses
