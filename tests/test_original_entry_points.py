"""The original's other entry points end to end on tiny data: eval_onnx, the per-checkpoint sweep, the
310 file path (preprocess -> MINDIR inference on CPU -> postprocess), OpenI flags, generate_rgb_jpgs --fps."""
import json
import re
import shutil
import subprocess
import sys

import cv2
import mindspore as ms
import numpy as np
import pytest

from src.checkpoints.checkpoint import make_record, save_checkpoint_atomic
from src.model.i3d import build_i3d
from src.prep.frames import extract_frames
from tests.fixtures.shared import REPO
from tests.fixtures.network import reinitialise
from tests.fixtures.runs import TINY, make_trees, run

SMALL = ["--test_sample_duration", "9", "--spatial_size", "32", "--context", "py", "--num_workers", "1"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A frame tree and a recorded 2-class rgb checkpoint."""
    root = make_trees(tmp_path_factory.mktemp("ep"))
    net = reinitialise(build_i3d("rgb", 2), seed=4)
    save_checkpoint_atomic(net, root / "run" / "checkpoints" / "i3d-1_3.ckpt",
                           make_record("deepmind", "avg", "rgb", 2, ["left", "right"]))
    save_checkpoint_atomic(reinitialise(net, seed=5), root / "run" / "checkpoints" / "i3d-2_3.ckpt",
                           make_record("deepmind", "avg", "rgb", 2, ["left", "right"]))
    return root


def bash(script, *args, cwd):
    proc = subprocess.run(["bash", str(REPO / "scripts" / script), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def accuracy(out, name="rgb"):
    return float(re.search(rf"^{name} accuracy: ([0-9.]+)$", out, re.M).group(1))


def video_logits(output_dir):
    """{video id: logits} from an evaluation's rgb_predictions.json, in its order."""
    videos = json.loads((output_dir / "rgb_predictions.json").read_text())["videos"]
    return {v["video_id"]: v["logits"] for v in videos}


def eval_args(root, ckpt):
    return ["--dataset", "hmdb51", "--test_mode", "rgb", "--video_path", root / "rgb", "--annotation_path",
            root / "ann.json", "--rgb_path", ckpt, *SMALL]


def test_eval_onnx_and_the_310_path_agree_with_eval(tiny, tmp_path):
    ckpt = tiny / "run" / "checkpoints" / "i3d-1_3.ckpt"
    expected = accuracy(run("eval.py", *eval_args(tiny, ckpt), "--output_dir", tmp_path / "e"))
    for fmt in ("ONNX", "MINDIR"):
        run("export.py", "--checkpoint_path", ckpt, "--file_name", tmp_path / "m", "--file_format", fmt,
            "--batch_size", 3, "--sample_duration", 9, "--spatial_size", 32)
    out = bash("run_eval_onnx.sh", "rgb", "CPU", 0, "hmdb51", tiny / "rgb", tiny / "ann.json", tmp_path / "m.onnx",
               *SMALL, "--batch_size", 3, "--output_dir", tmp_path / "o", cwd=tmp_path)
    assert accuracy(out) == expected and re.search(r"^step: 2   acc: ", out, re.M), out
    assert "rgb accuracy" in (tmp_path / "eval_onnx_rgb_log.txt").read_text()
    # per video, not only the accuracy (2 classes: a constant prediction would agree on the accuracy alone)
    want = video_logits(tmp_path / "e")
    got = video_logits(tmp_path / "o")
    assert list(got) == list(want) and len(want) == 4
    np.testing.assert_allclose(np.array(list(got.values())), np.array(list(want.values())), atol=1e-4)
    # 310 path: 4 test clips in batches of 3 -> 2 files, the second padded
    run("preprocess.py", "--dataset", "hmdb51", "--mode", "rgb", "--video_path", tiny / "rgb", "--annotation_path",
        tiny / "ann.json", "--batch_size", 3, "--test_sample_duration", 9, "--spatial_size", 32,
        "--result_path", tmp_path / "pre")
    data = tmp_path / "pre" / "data" / "hmdb51" / "rgb"
    assert sorted(p.name for p in data.iterdir()) == ["hmdb51_bsrgb_1.bin", "hmdb51_bsrgb_2.bin"]
    assert (data / "hmdb51_bsrgb_1.bin").stat().st_size == 3 * 3 * 9 * 32 * 32 * 4
    run("tools/infer_bins.py", "--mindir_path", tmp_path / "m.mindir", "--input0_path", data, "--result_path", tmp_path / "res")
    out = run("postprocess.py", "--dataset", "hmdb51", "--mode", "rgb", "--num-classes", 2, "--batch-size", 3,
              "--label-path", tmp_path / "pre" / "label" / "hmdb51" / "rgb" / "label_bsrgb3.npy",
              "--result_path", tmp_path / "res")
    assert re.search(r"^result:[0-9.]+%\nresult:[0-9.]+%\neval result: top_1 ([0-9.]+)%$", out, re.M), out
    assert float(out.strip().split()[-1].rstrip("%")) == pytest.approx(100 * expected, abs=1e-3)
    # the MINDIR's logits of the 4 real clips (the padded fifth row left out), in eval's video order
    rows = np.concatenate([np.fromfile(tmp_path / "res" / f"hmdb51_bsrgb_{i}_0.bin", np.float32).reshape(3, 2)
                           for i in (1, 2)])[:4]
    np.testing.assert_allclose(rows, np.array(list(want.values())), atol=1e-4)


def test_every_checkpoint_of_a_run_one_line_each_best_marked(tiny, tmp_path):
    out = bash("run_distributed_single-mode_eval.sh", 1, "rgb", "hmdb51", tiny / "ann.json", tiny / "rgb",
               tiny / "run", 3, *SMALL, cwd=tmp_path)
    lines = (tmp_path / "output_eval" / "summary.txt").read_text().splitlines()
    assert len(lines) == 2 and [l.count("<- best") for l in lines].count(1) == 1, out
    assert all(re.match(r"checkpoint: .*i3d-[12]_3\.ckpt   rgb accuracy: [0-9.]+", l) for l in lines), lines
    best = max(lines, key=lambda l: float(l.split("accuracy: ")[1].split()[0]))
    assert best.endswith("<- best")


def test_openi_urls_as_local_folders(tiny, tmp_path):
    data = tmp_path / "obs_data" / "hmdb51"
    shutil.copytree(tiny / "rgb", data / "jpg")
    (data / "annotation").mkdir()
    shutil.copy(tiny / "ann.json", data / "annotation" / "hmdb51_1.json")
    ms.save_checkpoint(reinitialise(build_i3d("rgb", 400), seed=1), str(tmp_path / "k400.ckpt"))
    proc = subprocess.run([sys.executable, str(REPO / "train.py"), *TINY, "--mode", "rgb", "--openI",
                           "--data_url", tmp_path / "obs_data", "--train_url", tmp_path / "obs_model",
                           "--checkpoint_path", tmp_path / "k400.ckpt", "--num_epochs", "1"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpts = list((tmp_path / "obs_model").glob("*_hmdb51_rgb_device0/checkpoints/i3d-1_3.ckpt"))
    assert len(ckpts) == 1, list((tmp_path / "obs_model").rglob("*"))
    (tmp_path / "obs_ckpt").mkdir()
    shutil.copy(ckpts[0], tmp_path / "obs_ckpt" / "i3d-1_3.ckpt")
    proc = subprocess.run([sys.executable, str(REPO / "eval.py"), "--openI", "--dataset", "hmdb51", "--test_mode", "rgb",
                           "--rgb_path", "i3d-1_3.ckpt", "--data_url", tmp_path / "obs_data", "--ckpt_url",
                           tmp_path / "obs_ckpt", "--result_url", tmp_path / "obs_result", *map(str, SMALL)],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (tmp_path / "obs_result" / "log.txt").read_text().strip()
    assert log == f"rgb accuracy:{accuracy(proc.stdout)}"


@pytest.mark.parametrize("fps,frames", [(5, 10), (20, 40), (-1, 20)])
def test_generate_rgb_jpgs_fps_resamples(tmp_path, fps, frames):
    video = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(20):
        writer.write(np.full((48, 64, 3), 12 * i, np.uint8))
    writer.release()
    assert extract_frames(video, tmp_path / "out", size=48, fps=fps) == frames
    levels = [int(cv2.imread(str(p))[0, 0, 0]) for p in sorted((tmp_path / "out").glob("image_*.jpg"))]
    assert len(levels) == frames and levels == sorted(levels) and abs(levels[-1] - 228) <= 14
