"""Long videos: per-window predictions (timeline CSV + picture), the annotated video, two-stream features in
one pass, and the input/output rules of predict.py and extract_features.py.

The rgb model is trained here: a random I3D trunk whose head is fitted (ridge regression) on the features
extract_features.py gives for videos of two synthetic actions, so that a video of one action followed by
the other has a known answer for each half.
"""
import csv
import subprocess
import sys

import cv2
import mindspore as ms
import numpy as np
import pytest

from src.checkpoints.checkpoint import make_record, save_checkpoint_atomic
from src.infer.features import FeatureOptions, extract_features
from src.model.i3d import build_i3d
from src.prep.demo_data import texture, write_video
from tests.fixtures.shared import REPO
from tests.fixtures.network import reinitialise

CLASSES = ("red_disc_bouncing", "blue_square_falling")
SIDE, SIZE, CROP, WINDOW = 40, 32, 32, 8  # square 40x40 frames -> 32x32 (the whole frame is the crop)
HALF = 24


def run(script, *args, expect=0):
    proc = subprocess.run([sys.executable, script, *map(str, args)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == expect, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def action(name, seed, n_frames):
    """RGB frames of one synthetic action over a random textured background: a red disc bouncing left and
    right, or a blue square falling (wrapping round)."""
    rng = np.random.default_rng(seed)
    background = (texture(rng, SIDE, SIDE, cell=8) * 0.5 + 64).astype(np.uint8)
    frames = np.repeat(background[None], n_frames, axis=0)
    x0, y0, phase = rng.integers(8, SIDE - 8, 2).tolist() + [rng.uniform(0, 2 * np.pi)]
    for t, frame in enumerate(frames):
        if name == CLASSES[0]:
            centre = (int(SIDE / 2 + 12 * np.sin(phase + t / 2)), y0)
            cv2.circle(frame, centre, 6, (230, 40, 40), -1)
        else:
            top = (y0 + 3 * t) % SIDE
            cv2.rectangle(frame, (x0 - 6, top - 6), (x0 + 6, top + 6), (40, 60, 230), -1)
    return frames


def fit_head(x, y, classes, scale=8.0, ridge=1.0):
    """Ridge regression onto +-1 targets (dual form: more features than samples) -> (weight, bias) of a
    linear head whose logits are `scale` times the fitted scores."""
    mean = x.mean(axis=0)
    xc = (x - mean).astype(np.float64)
    targets = np.where(np.arange(classes)[None] == y[:, None], 1.0, -1.0)
    gram = xc @ xc.T
    alpha = np.linalg.solve(gram + ridge * np.trace(gram) / len(x) * np.eye(len(x)), targets)
    weight = xc.T @ alpha  # (features, classes)
    return (scale * weight.T).astype(np.float32), (-scale * mean @ weight).astype(np.float32)


def trained_checkpoint(trunk, mode, x, y, path):
    """The trunk with a head fitted to features x (rows) of classes y, saved with a record that gives the
    class names, the crop and the clip length."""
    weight, bias = fit_head(x, y, len(CLASSES))
    params = [{"name": k, "data": v} for k, v in ms.load_checkpoint(str(trunk)).items()]
    for p in params:
        if p["name"] == "logits_conv3d.weight":
            p["data"] = ms.Tensor(weight.reshape(len(CLASSES), 1024, 1, 1, 1))
        elif p["name"] == "logits_conv3d.bias":
            p["data"] = ms.Tensor(bias)
    record = dict(make_record("deepmind", "avg", mode, len(CLASSES), CLASSES), spatial_size=CROP,
                  sample_duration=WINDOW)
    save_checkpoint_atomic(params, path, record)
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Training videos of the two actions, checkpoints whose heads are trained on them (records with class
    names, crop and clip length), and a test video: one action for HALF frames, then the other."""
    root = tmp_path_factory.mktemp("long")
    for c, name in enumerate(CLASSES):
        (root / "train" / name).mkdir(parents=True)
        for j in range(3):
            write_video(root / "train" / name / f"{name}_{j}.avi", action(name, 100 * c + j, 16))
    trunks = {}
    for mode, seed in (("rgb", 1), ("flow", 2)):
        trunks[mode] = root / f"{mode}_trunk.ckpt"
        ms.save_checkpoint(reinitialise(build_i3d(mode, len(CLASSES)), seed=seed), str(trunks[mode]))
    options = FeatureOptions(str(trunks["rgb"]), "rgb", crop=CROP, window=WINDOW, stride=4, size=SIZE, context="py")
    assert extract_features(root / "train", root / "train_features", options, ext="avi").failures == []
    xs, ys = [], []
    for c, name in enumerate(CLASSES):
        for path in sorted((root / "train_features" / name).glob("*_?.npy")):
            xs.append(np.load(path))
            ys += [c] * len(xs[-1])
    x, y = np.concatenate(xs), np.array(ys)
    ckpts = {"rgb": trained_checkpoint(trunks["rgb"], "rgb", x, y, root / "rgb.ckpt"),
             "flow": trunks["flow"]}
    video = root / "two_actions.avi"
    write_video(video, np.concatenate([action(CLASSES[0], 7, HALF), action(CLASSES[1], 8, HALF)]))
    return root, ckpts, video


def read_video(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def test_timeline_labels_each_half_and_annotated_video(made, tmp_path):
    root, ckpts, video = made
    run("predict.py", video, "--checkpoint", ckpts["rgb"], "--resize", SIZE, "--stride", 4, "--context", "py",
        "--timeline", tmp_path / "t.csv", "--out_video", tmp_path / "a.mp4", "--save_logits", tmp_path / "l.npy")
    with open(tmp_path / "t.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    # window and crop come from the checkpoint's record (8 frames, 32 px), the class names too; --resize
    # 32 shows the network the whole frame, as the training features saw it
    assert [int(r["start_frame"]) for r in rows] == list(range(1, 2 * HALF - WINDOW + 2, 4))
    assert all(int(r["end_frame"]) - int(r["start_frame"]) == WINDOW - 1 for r in rows)
    assert float(rows[1]["start_s"]) == pytest.approx(4 / 25) and float(rows[0]["end_s"]) == pytest.approx(8 / 25)
    assert list(rows[0]) == ["window", "start_frame", "end_frame", "start_s", "end_s", "top1", "top1_score",
                             "top2", "top2_score"]
    first = [r["top1"] for r in rows if int(r["end_frame"]) <= HALF]
    second = [r["top1"] for r in rows if int(r["start_frame"]) > HALF]
    assert len(first) == 5 and len(second) == 5
    assert first == [CLASSES[0]] * 5 and second == [CLASSES[1]] * 5, rows
    assert all(0.5 < float(r["top1_score"]) <= 1 for r in rows)
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.load(tmp_path / "l.npy").shape == (len(rows), len(CLASSES))
    # the annotated video: every frame, the input's size, labels drawn on it
    frames, plain = read_video(tmp_path / "a.mp4"), read_video(video)
    assert len(frames) == len(plain) == 2 * HALF and frames[0].shape == plain[0].shape == (SIDE, SIDE, 3)
    assert np.abs(frames[0].astype(int) - plain[0]).mean() > 5  # something is drawn on it


def test_two_stream_timeline_shows_flow_progress(made, tmp_path):
    root, ckpts, video = made
    proc = run("predict.py", video, "--rgb_checkpoint", ckpts["rgb"], "--flow_checkpoint", ckpts["flow"],
               "--size", SIZE, "--num_frames", 16, "--stride", 8, "--context", "py", "--timeline", tmp_path / "t",
               "--save_logits", tmp_path / "l.npy")
    assert "frames (decode + TV-L1 flow + network)" in proc.stderr and "16/16" in proc.stderr
    assert f"--timeline {tmp_path / 't'} has no suffix: writing {tmp_path / 't.csv'}" in proc.stdout
    assert "2 windows of 8 frames (32x32, joint) every 8 frames over 16 frames" in proc.stdout
    with open(tmp_path / "t.csv", newline="") as f:
        assert [r["end_frame"] for r in csv.DictReader(f)] == ["8", "16"]
    logits = np.load(tmp_path / "l.npy")
    assert logits.shape == (2, 3, len(CLASSES))  # windows x (rgb, flow, joint)
    np.testing.assert_allclose(logits[:, 2], logits[:, 0] + logits[:, 1], atol=1e-5)


def test_two_stream_features_equal_the_one_stream_runs(made, tmp_path):
    root, ckpts, _ = made
    common = dict(crop=CROP, window=WINDOW, stride=4, size=SIZE, context="py", batch_size=2)
    runs = {"rgb": FeatureOptions(str(ckpts["rgb"]), "rgb", **common),
            "flow": FeatureOptions(str(ckpts["flow"]), "flow", **common),
            "both": FeatureOptions(str(ckpts["rgb"]), "rgb", flow_checkpoint=str(ckpts["flow"]), **common)}
    for name, options in runs.items():
        assert extract_features(root / "train", tmp_path / name, options, ext="avi").failures == []
    videos = sorted(p.relative_to(tmp_path / "both") for p in (tmp_path / "both").rglob("*_?.npy"))
    assert len(videos) == 6
    for rel in videos:
        both = np.load(tmp_path / "both" / rel)
        assert both.shape == (3, 2048) and both.dtype == np.float32  # starts 0, 4, 8 of 16 frames
        joined = np.concatenate([np.load(tmp_path / "rgb" / rel), np.load(tmp_path / "flow" / rel)], axis=1)
        assert np.abs(both - joined).max() <= 1e-6
        assert np.ptp(both[:, 1024:], axis=0).max() > 1e-4  # the flow columns are real, varying features
        frames = np.load(tmp_path / "both" / rel.with_name(rel.stem + ".frames.npy"))
        np.testing.assert_array_equal(frames, np.arange(1, 9)[None] + np.arange(0, 9, 4)[:, None])
    again = extract_features(root / "train", tmp_path / "both", runs["both"], ext="avi")
    assert (again.done, again.skipped) == (0, 6)


def test_save_logits_writes_exactly_the_path_given(made, tmp_path):
    root, ckpts, video = made
    base = [video, "--checkpoint", ckpts["rgb"], "--num_frames", WINDOW, "--context", "py"]
    out = run("predict.py", *base, "--save_logits", tmp_path / "plain").stdout
    assert f"--save_logits {tmp_path / 'plain'} has no suffix: writing {tmp_path / 'plain.npy'}" in out
    assert np.load(tmp_path / "plain.npy").shape == (len(CLASSES),)
    run("predict.py", *base, "--save_logits", tmp_path / "logits.bin")
    assert np.load(tmp_path / "logits.bin").shape == (len(CLASSES),) and not (tmp_path / "logits.bin.npy").exists()
    err = run("predict.py", *base, "--save_logits", tmp_path, expect=2).stderr
    assert err.startswith(f"predict: --save_logits {tmp_path}: is a folder") and len(err.splitlines()) == 1
    err = run("predict.py", *base, "--save_logits", ckpts["rgb"], expect=2).stderr
    assert f"--save_logits {ckpts['rgb']} is the same path as --checkpoint {ckpts['rgb']}" in err
    assert not list(tmp_path.glob(".*partial*"))


def test_refusals_before_any_work(made, tmp_path):
    """A cut video (unless --allow_truncated), a gap in a frame folder, frames smaller than the crop and
    --stride 0 are one-line errors naming the culprit."""
    root, ckpts, video = made
    cut = tmp_path / "cut.avi"
    data = video.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    args = ["--checkpoint", ckpts["rgb"], "--context", "py"]
    err = run("predict.py", cut, *args, expect=2).stderr
    # found once the file is read to its end, as generate_rgb_jpgs finds it; the last line says it all
    assert err.strip().splitlines()[-1].startswith(f"predict: {cut}: truncated or corrupt: decoded 2")
    assert "top-" in run("predict.py", cut, *args, "--allow_truncated").stdout
    folder = tmp_path / "frames"
    folder.mkdir()
    for k in (1, 2, 4, 5):
        cv2.imwrite(str(folder / f"image_{k:05d}.jpg"), np.zeros((40, 40, 3), np.uint8))
    err = run("predict.py", folder, *args, expect=2).stderr
    assert err == f"predict: {folder}: rgb frame 3 is missing (highest index 5, 4 files)\n"
    flow = tmp_path / "flow"
    flow.mkdir()
    for k in (1, 2):
        for c in "xy":
            cv2.imwrite(str(flow / f"image_{k:05d}{c}.jpg"), np.full((20, 24), 128, np.uint8))
    err = run("predict.py", flow, "--checkpoint", ckpts["flow"], "--crop", CROP, expect=2).stderr
    assert err == f"predict: {flow}: frames are 24x20, smaller than the 32x32 crop (--crop 32); use --crop 20 or less, " \
                  "or extract the frames at a larger size\n"
    err = run("extract_features.py", root / "train", tmp_path / "f", "--checkpoint", ckpts["rgb"], "--ext", "avi",
              "--window", 16, "--stride", 0, expect=2).stderr
    assert "--stride: expected a positive integer, got '0'" in err
    err = run("extract_features.py", root / "train", tmp_path / "f", "--checkpoint", ckpts["rgb"], "--ext", "avi",
              "--size", 24, expect=2).stderr
    assert "--size 24 is smaller than --crop 32" in err
    err = run("extract_features.py", tmp_path / "cuts", tmp_path / "f", "--checkpoint", ckpts["rgb"], "--ext", "avi",
              expect=2).stderr
    assert "cuts" in err
    (tmp_path / "cuts" / "c").mkdir(parents=True)
    (tmp_path / "cuts" / "c" / "cut.avi").write_bytes(cut.read_bytes())
    out = run("extract_features.py", tmp_path / "cuts", tmp_path / "f", "--checkpoint", ckpts["rgb"], "--ext", "avi",
              "--size", SIZE, "--context", "py", expect=1).stdout
    assert f"FAILED {tmp_path / 'cuts' / 'c' / 'cut.avi'}: truncated or corrupt" in out
