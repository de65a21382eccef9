"""n_frames: rgb and flow folders counted correctly (a flow frame is two files), gaps reported, re-run idempotent."""
import re

import cv2
import numpy as np
import pytest

from tests.fixtures.tools import run_tool
from src.prep.n_frames import count_frames
from src.data.layout import read_n_frames
from src.common.errors import VideoReadError


def make_frames(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    tile = np.full((8, 8), 100, np.uint8)
    for name in names:
        assert cv2.imwrite(str(folder / name), tile)
    return folder


def rgb_names(n):
    return [f"image_{k:05d}.jpg" for k in range(1, n + 1)]


def flow_names(n):
    return [f"image_{k:05d}{c}.jpg" for k in range(1, n + 1) for c in "xy"]


def test_counts_rgb_and_flow_frames(tmp_path):
    assert count_frames(make_frames(tmp_path / "rgb", rgb_names(3))) == 3
    assert count_frames(make_frames(tmp_path / "flow", flow_names(3))) == 3  # the original said 6


@pytest.mark.parametrize("names,message", [
    ([], "no image_%05d.jpg"),
    (["image_00001.jpg", "image_00003.jpg"], "rgb frame 2 is missing"),
    (["image_00001x.jpg", "image_00001y.jpg", "image_00002x.jpg"], "flow x and y frames differ"),
    (rgb_names(2) + flow_names(3), "holds 2 rgb and 3 flow frames"),
])
def test_inconsistent_folders_are_errors_that_say_why(tmp_path, names, message):
    with pytest.raises(VideoReadError, match=re.escape(message)):
        count_frames(make_frames(tmp_path / "v", names))


def test_reads_with_or_without_trailing_newline(tmp_path):
    (tmp_path / "n_frames").write_text("42\n")
    assert read_n_frames(tmp_path) == 42


def test_generate_n_frames_tool(tmp_path):
    rgb = make_frames(tmp_path / "jump" / "rgb video", rgb_names(4))
    flow = make_frames(tmp_path / "jump" / "flow video", flow_names(3))
    (flow / "n_frames").write_text("6")  # what the original's tool wrote for a flow folder
    (tmp_path / "run" / "nothing").mkdir(parents=True)
    result = run_tool("generate_n_frames.py", tmp_path, "--n_jobs", 1)
    assert result.returncode == 1
    assert "done 2, skipped 0 (already done), failed 1" in result.stdout
    assert f"FAILED {tmp_path / 'run' / 'nothing'}: no image_%05d.jpg" in result.stdout
    assert (rgb / "n_frames").read_text() == "4" and (flow / "n_frames").read_text() == "3"

    again = run_tool("generate_n_frames", tmp_path, "--n_jobs", 2)
    assert "done 0, skipped 2 (already done), failed 1" in again.stdout


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e400", "-3", "2.5", "many"])
def test_impossible_counts_are_named_errors_and_generate_n_frames_repairs_them(tmp_path, text):
    folder = make_frames(tmp_path / "jump" / "v", rgb_names(3))
    (folder / "n_frames").write_text(text)
    with pytest.raises(VideoReadError, match=re.escape(str(folder / "n_frames"))):
        read_n_frames(folder)
    result = run_tool("generate_n_frames.py", tmp_path, "--n_jobs", 1)
    assert result.returncode == 0, result.stdout + result.stderr
    assert read_n_frames(folder) == 3
