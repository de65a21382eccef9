"""predict.py on DeepMind's sample clip gives DeepMind's Kinetics-400 predictions."""
import subprocess
import sys

import cv2
import numpy as np
import pytest

from src.common.errors import VideoReadError
from src.infer.inference import load_input
from src.data.media import read_gif_frames
from src.checkpoints.convert import convert_file
from tests.fixtures.shared import REPO, shared_path

# DeepMind's published rgb_scratch top-5 for v_CricketShot_g04_c01 (tf_v1/out/no_imagenet_rgb.txt)
DEEPMIND_TOP5 = ["playing cricket", "robot dancing", "pumping fist", "breakdancing", "hurling (sport)"]


@pytest.fixture(scope="module")
def k400(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "k400.ckpt"
    convert_file(shared_path("pretrained", "i3djax_rgb_scratch_k400.npz"), path)
    return path


def run_predict(*args):
    proc = subprocess.run([sys.executable, "predict.py", *map(str, args)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def ranked_labels(stdout):
    lines = [l for l in stdout.splitlines() if l[:3].strip().rstrip(".").isdigit()]
    return [l.split(".", 1)[1].split("  logit")[0].strip() for l in lines]


def test_cricket_gif_top5_and_exact_logits(k400, tmp_path):
    gif = shared_path("data", "samples", "v_CricketShot_g04_c01_rgb.gif")
    labels = shared_path("pretrained", "kinetics400_labels.txt")
    out = run_predict(gif, "--checkpoint", k400, "--labels", labels, "--save_logits", tmp_path / "l.npy")
    assert ranked_labels(out) == DEEPMIND_TOP5
    assert "79 frames, 224x224" in out
    reference = np.load(shared_path("data", "samples", "v_CricketShot_g04_c01_rgb_kinetics400_logits.npy"))
    logits = np.load(tmp_path / "l.npy")
    assert logits.shape == (400,)
    # float64 reference from an independent implementation; a wrong BN eps is off by ~0.03, padding by ~3
    assert np.abs(logits - reference).max() < 1e-4


def test_npy_folder_and_video_inputs(k400, tmp_path):
    """The same clip as .npy, as a frame folder and as a video file gives the same top-1."""
    frames = read_gif_frames(shared_path("data", "samples", "v_CricketShot_g04_c01_rgb.gif"))[:32]
    clip = np.stack(frames).astype(np.float32) / 127.5 - 1
    np.save(tmp_path / "clip.npy", clip)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(frames, 1):
        cv2.imwrite(str(folder / f"image_{i:05d}.jpg"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 98])
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (224, 224))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    labels = shared_path("pretrained", "kinetics400_labels.txt")
    logits = {}
    for name, src in (("npy", tmp_path / "clip.npy"), ("folder", folder), ("video", video)):
        out = run_predict(src, "--checkpoint", k400, "--labels", labels, "--top_k", 1, "--save_logits", tmp_path / f"{name}.npy")
        assert ranked_labels(out) == ["playing cricket"], out
        logits[name] = np.load(tmp_path / f"{name}.npy")
    for name in ("folder", "video"):  # JPEG loss only: a channel swap or wrong scaling would decorrelate
        assert np.corrcoef(logits[name], logits["npy"])[0, 1] > 0.99, name


def test_clear_errors(k400, tmp_path):
    proc = subprocess.run([sys.executable, "predict.py", str(tmp_path / "missing.avi"), "--checkpoint", str(k400)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and "missing.avi" in proc.stderr
    folder = tmp_path / "flow"
    folder.mkdir()
    proc = subprocess.run([sys.executable, "predict.py", str(folder), "--checkpoint", str(k400), "--mode", "flow"],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and f"--checkpoint {k400} is a rgb model, not flow" in proc.stderr
    with pytest.raises((ValueError, VideoReadError), match=r"image_%05dx/y\.jpg"):
        load_input(folder, "flow")


def test_flow_frame_folder(tmp_path):
    """A flow folder (x/y JPEGs at 240x320) is centre-cropped, not rescaled, and runs through a flow model."""
    flow_ckpt = tmp_path / "flow.ckpt"
    convert_file(shared_path("pretrained", "i3djax_rgb_scratch_k400.npz"), flow_ckpt, mode="flow", rgb_to_flow=True)
    folder = tmp_path / "flow"
    folder.mkdir()
    for i in range(1, 11):
        cv2.imwrite(str(folder / f"image_{i:05d}x.jpg"), np.full((240, 320), 140, np.uint8))
        cv2.imwrite(str(folder / f"image_{i:05d}y.jpg"), np.full((240, 320), 128, np.uint8))
    out = run_predict(folder, "--checkpoint", flow_ckpt, "--mode", "flow", "--top_k", 3)
    assert "10 frames, 224x224, flow" in out and len(ranked_labels(out)) == 3
