"""Your own dataset end to end: a folder-per-class tree of .mp4 videos with 3 classes -> frames ->
make_split_json (lists, and a seeded ratio) -> train with the class count from the JSON -> eval."""
import json

import cv2
import mindspore as ms
import numpy as np

from tests.fixtures.tools import run_tool
from src.model.i3d import build_i3d
from src.prep.demo_data import DIRECTIONS, render_video
from tests.fixtures.network import reinitialise
from tests.fixtures.runs import check_eval_report

CLASSES = ("move_left", "move_right", "move_up")


def write_mp4(path, frames):
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (frames.shape[2], frames.shape[1]))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def test_three_class_mp4_tree_from_lists_and_ratio_to_a_trained_model(tmp_path):
    videos = tmp_path / "my_videos"
    lines = {"train": [], "test": []}
    for c, cls in enumerate(CLASSES):
        for j in range(3):
            frames = render_video(np.random.default_rng([c, j]), DIRECTIONS[cls], height=40, width=48, n_frames=10)
            write_mp4(videos / cls / f"clip {j}.mp4", frames)
            lines["test" if j == 2 else "train"].append(f"{cls}/clip {j}.mp4\n")
    for name, content in lines.items():
        (tmp_path / f"{name}.txt").write_text("".join(content))

    frames = run_tool("generate_rgb_jpgs.py", videos, tmp_path / "jpg", "custom", "--n_jobs", 1, "--size", 40)
    assert frames.returncode == 0 and "done 9, skipped 0 (already done), failed 0" in frames.stdout

    made = run_tool("tools/make_split_json.py", tmp_path / "jpg", tmp_path / "ann.json", "--train_list",
                    tmp_path / "train.txt", "--test_list", tmp_path / "test.txt")
    assert made.returncode == 0, made.stderr
    assert f"{tmp_path / 'ann.json'}: 3 labels, 6 training, 3 validation" in made.stdout
    data = json.loads((tmp_path / "ann.json").read_text())
    assert data["labels"] == list(CLASSES) and data["database"]["move_up/clip 2"]["subset"] == "validation"
    ratio = run_tool("tools/make_split_json.py", tmp_path / "jpg", tmp_path / "ratio.json", "--val_ratio", 0.34, "--seed", 3)
    assert "3 labels, 6 training, 3 validation" in ratio.stdout
    assert run_tool("tools/make_split_json.py", tmp_path / "jpg", tmp_path / "x.json").returncode == 2

    net = reinitialise(build_i3d("rgb", 400), seed=1)
    ms.save_checkpoint(net, str(tmp_path / "k400.ckpt"))
    common = ["--dataset", "custom", "--spatial_size", "32", "--batch_size", "3", "--context", "py",
              "--num_workers", "1", "--video_path", tmp_path / "jpg"]
    train = run_tool("train.py", *common, "--mode", "rgb", "--annotation_path", tmp_path / "ann.json",
                     "--checkpoint_path", tmp_path / "k400.ckpt", "--train_sample_duration", 9, "--num_epochs", 1,
                     "--run_dir", tmp_path / "run", timeout=600)
    assert train.returncode == 0, train.stdout[-2000:] + train.stderr[-2000:]
    assert "epoch: 1 step: 2, loss is" in train.stdout
    assert json.loads((tmp_path / "run" / "config.json").read_text())["finetune_num_classes"] == 3
    evaluated = run_tool("eval.py", *common, "--test_mode", "rgb", "--annotation_path", tmp_path / "ann.json",
                         "--rgb_path", tmp_path / "run" / "checkpoints" / "i3d-1_2.ckpt", "--test_sample_duration", 9,
                         "--output_dir", tmp_path / "eval", timeout=600)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    check_eval_report(evaluated.stdout, tmp_path / "eval", "rgb", [l.strip().rsplit(".", 1)[0] for l in lines["test"]])
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["rgb"]["videos"] == 3
