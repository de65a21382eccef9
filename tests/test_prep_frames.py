"""generate_rgb_jpgs on real videos written with cv2.VideoWriter: sizes, counts, colours, bad files, re-run."""
import cv2
import numpy as np
import pytest

from tests.fixtures.tools import finished_folders, hidden_entries, run_tool
from src.data.media import scaled_size
from tests.fixtures.media import moving_disc_frames, write_video
from src.data.layout import rgb_frame_paths
from src.data.media import read_image_rgb

SPECIAL = "a b [1] 'q' \"dq\" & ; $x é.v2"  # HMDB-like: spaces, brackets, quotes, &, ;, $, non-ASCII, a dot


@pytest.mark.parametrize("w,h,size,expected", [
    (320, 240, 240, (320, 240)), (240, 320, 240, (240, 320)), (340, 256, 240, (319, 240)),
    (176, 144, 240, (293, 240)), (320, 240, 120, (160, 120)),
])
def test_scaled_size_keeps_aspect(w, h, size, expected):
    assert scaled_size(w, h, size) == expected


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    src = tmp_path_factory.mktemp("videos")
    write_video(src / "wave" / "landscape.avi", moving_disc_frames(320, 240, 24))
    write_video(src / "wave" / f"{SPECIAL}.avi", moving_disc_frames(240, 320, 20))
    write_video(src / "jump" / "cut.avi", moving_disc_frames(320, 240, 30))
    data = (src / "jump" / "cut.avi").read_bytes()
    (src / "jump" / "cut.avi").write_bytes(data[: len(data) // 2])  # a download that stopped half-way
    (src / "jump" / "empty.avi").write_bytes(b"")
    (src / "jump" / "garbage.avi").write_bytes(np.random.default_rng(0).bytes(4000))
    (src / "jump" / "notes.txt").write_text("not a video")
    return src


@pytest.fixture(scope="module")
def extracted(videos, tmp_path_factory):
    dst = tmp_path_factory.mktemp("jpg")
    result = run_tool("generate_rgb_jpgs", videos, dst, "hmdb51", "--size", 120, "--n_jobs", 2)
    return dst, result


def test_good_videos_become_frame_folders(extracted):
    dst, result = extracted
    assert [p.relative_to(dst).as_posix() for p in finished_folders(dst)] == [
        f"wave/{SPECIAL}", "wave/landscape"]
    for name, n, size in ((SPECIAL, 20, (120, 160)), ("landscape", 24, (160, 120))):
        folder = dst / "wave" / name
        paths = rgb_frame_paths(folder)
        assert [p.name for p in paths] == [f"image_{k:05d}.jpg" for k in range(1, n + 1)]
        assert (folder / "n_frames").read_text() == str(n)  # no newline, as the original wrote it
        assert {read_image_rgb(p).shape[1::-1] for p in paths} == {size}


def test_bad_videos_are_listed_and_the_rest_finished(extracted, videos):
    dst, result = extracted
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "done 2, skipped 0 (already done), failed 3" in out
    assert f"FAILED {videos / 'jump' / 'empty.avi'}: empty file" in out
    assert f"FAILED {videos / 'jump' / 'garbage.avi'}: OpenCV cannot open it" in out
    assert f"FAILED {videos / 'jump' / 'cut.avi'}: truncated or corrupt: decoded" in out
    assert "notes" not in out  # only .avi files are videos
    assert not (dst / "jump").exists() or not any((dst / "jump").iterdir())
    assert hidden_entries(dst) == []


def test_frames_are_rgb_and_match_the_decoded_video(extracted, videos):
    dst, _ = extracted
    capture = cv2.VideoCapture(str(videos / "wave" / "landscape.avi"))  # OpenCV directly, not the tool's reader
    decoded = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        h, w = bgr.shape[:2]
        size = (round(w * 120 / h), 120) if h <= w else (120, round(h * 120 / w))
        decoded.append(cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB))
    capture.release()
    stored = [read_image_rgb(p) for p in rgb_frame_paths(dst / "wave" / "landscape")]
    assert len(stored) == len(decoded)
    for want, got in zip(decoded, stored):
        assert np.abs(want.astype(int) - got.astype(int)).mean() < 3  # JPEG loss only
    first = stored[0].astype(int)
    left, right = first[:20, 10:50].mean(axis=(0, 1)), first[:20, 110:150].mean(axis=(0, 1))
    assert left[0] > 200 and left[2] < 60, left  # red stays red (no BGR swap)
    assert right[2] > 200 and right[0] < 60, right


def test_rerun_skips_finished_videos(extracted, videos):
    dst, _ = extracted
    stamps = {p: p.stat().st_mtime_ns for p in dst.rglob("*") if p.is_file()}
    result = run_tool("generate_rgb_jpgs.py", videos, dst, "ucf101", "--size", 120, "--n_jobs", 1)
    assert "done 0, skipped 2 (already done), failed 3" in result.stdout
    assert result.returncode == 1
    assert {p: p.stat().st_mtime_ns for p in dst.rglob("*") if p.is_file()} == stamps


def test_missing_source_is_one_clear_error(tmp_path):
    result = run_tool("generate_rgb_jpgs.py", tmp_path / "nope", tmp_path / "out", "hmdb51")
    assert result.returncode == 2
    assert "nope: no such folder" in result.stderr and "Traceback" not in result.stderr
