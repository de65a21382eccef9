"""The run_*.sh scripts: the original's argument order, the short forms, relative paths, log files."""
import os
import shutil
import subprocess

import mindspore as ms

from src.model.i3d import build_i3d
from tests.fixtures.shared import REPO
from tests.fixtures.network import reinitialise
from tests.fixtures.runs import check_eval_report, make_trees

SCRIPTS = REPO / "scripts"


def bash(script, *args, cwd, env=None, expect=0):
    proc = subprocess.run(["bash", str(SCRIPTS / script), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)
    assert proc.returncode == expect, f"{script}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def test_short_forms_name_the_missing_path(tmp_path):
    env = {"I3D_DATA_ROOT": str(tmp_path / "nowhere")}
    out = bash("run_standalone_train.sh", 0, "hmdb51", "rgb", 1, cwd=tmp_path, env=env, expect=2)
    assert f"video_path '{tmp_path}/nowhere/rgb/hmdb51/jpg' does not exist" in out and "I3D_DATA_ROOT" in out
    out = bash("run_single_eval.sh", 0, "flow", "ucf101", "missing.ckpt", cwd=tmp_path, env=env, expect=2)
    assert "ckpt_path 'missing.ckpt' does not exist" in out
    assert "dataset must be one of: hmdb51 ucf101 custom" in bash("run_standalone_train.sh", 0, "kinetics", "rgb", 1, cwd=tmp_path, expect=2)
    usage = bash("run_standalone_train.sh", 0, "hmdb51", cwd=tmp_path, expect=2)
    assert "[device_id] [dataset] [mode] [num_epochs] [video_path] [annotation_path] [checkpoint_path]" in usage


def test_standard_layout_train_then_eval_with_relative_paths(tmp_path):
    """Short form on the standard datasets/<mode>/<dataset>/{jpg,annotation} layout, run from that folder."""
    trees = make_trees(tmp_path / "trees")
    for mode in ("rgb", "flow"):
        base = tmp_path / "datasets" / mode / "hmdb51"
        (base / "annotation").mkdir(parents=True)
        shutil.move(str(trees / mode), str(base / "jpg"))
        shutil.copy(trees / "ann.json", base / "annotation" / "hmdb51_1.json")
    (tmp_path / "pretrained").mkdir()
    ms.save_checkpoint(reinitialise(build_i3d("rgb", 400), seed=2), str(tmp_path / "pretrained" / "i3d_rgb_kinetics400.ckpt"))
    tiny = ["--finetune_num_classes", "2", "--spatial_size", "32", "--train_sample_duration", "9",
            "--test_sample_duration", "9", "--batch_size", "2", "--context", "py", "--num_workers", "1",
            "--run_dir", "runs/rgb"]
    out = bash("run_standalone_train.sh", 0, "hmdb51", "rgb", 1, *tiny, cwd=tmp_path)
    assert "epoch: 1 step: 3, loss is" in out
    log = tmp_path / "output_standalone" / "hmdb51_rgb_device0_log.txt"
    assert "epoch: 1 step: 3, loss is" in log.read_text()
    ckpt = "runs/rgb/checkpoints/i3d-1_3.ckpt"
    assert (tmp_path / ckpt).exists()
    out = bash("run_single_eval.sh", 0, "rgb", "hmdb51", ckpt, "--spatial_size", "32", "--test_sample_duration", "9",
               "--context", "py", cwd=tmp_path)
    assert "rgb accuracy:" in (tmp_path / "single_eval_rgb_log.txt").read_text()
    videos = check_eval_report(out, tmp_path / "eval_output" / "hmdb51_rgb", "rgb")
    assert len(videos) == 4  # the 2 validation videos per class
    flow = tmp_path / "flow.ckpt"
    ms.save_checkpoint(reinitialise(build_i3d("flow", 2), seed=4), str(flow))
    out = bash("run_joint_eval.sh", 0, "hmdb51", "datasets/rgb/hmdb51/jpg", "datasets/flow/hmdb51/jpg",
               "datasets/rgb/hmdb51/annotation/hmdb51_1.json", "datasets/flow/hmdb51/annotation/hmdb51_1.json",
               ckpt, "flow.ckpt", "--spatial_size", "32", "--test_sample_duration", "9", "--context", "py", cwd=tmp_path)
    assert "joint accuracy:" in (tmp_path / "joint_eval_log.txt").read_text()
    assert len(check_eval_report(out, tmp_path / "eval_output" / "hmdb51_joint", "joint")) == 4
