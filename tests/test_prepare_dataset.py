"""prepare_dataset.py: from a download in the official archive formats to frames, flow and JSON in both trees."""
import json
import shutil
import subprocess
import sys

import pytest

from tests.fixtures.shared import REPO
from tests.fixtures.tools import run_tool
from src.prep.synthetic_download import make_download

needs_bsdtar = pytest.mark.skipif(shutil.which("bsdtar") is None,
                                  reason="needs bsdtar to read RAR archives: apt-get install libarchive-tools")


def counts(annotation):
    database = json.loads(annotation.read_text())["database"]
    subsets = [v["subset"] for v in database.values()]
    return subsets.count("training"), subsets.count("validation")


@needs_bsdtar
def test_hmdb51_download_to_both_trees_dry_run_and_resume(tmp_path):
    raw, out = tmp_path / "download", tmp_path / "datasets"
    make_download("hmdb51", raw, videos_per_class=3, n_frames=6, width=48, height=40)

    dry = run_tool("prepare_dataset.py", "hmdb51", raw, out, "--dry_run")
    assert dry.returncode == 0, dry.stderr
    assert "archives in" in dry.stdout and "hmdb51_org.rar, test_train_splits.rar" in dry.stdout
    assert "the archives are not unpacked yet" in dry.stdout and "frame pairs of TV-L1 flow" in dry.stdout
    assert not out.exists() or not any((out).rglob("*.jpg"))

    first = run_tool("prepare_dataset.py", "hmdb51", raw, out, "--n_jobs", 1, "--size", 40, timeout=600)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert first.stdout.count("unpacking") == 6  # the download, the split archive and four class archives
    for tree in ("rgb", "flow"):
        assert counts(out / tree / "hmdb51" / "annotation" / "hmdb51_1.json") == (8, 4)
        assert len(list((out / tree / "hmdb51" / "jpg").glob("*/*/n_frames"))) == 12

    again = run_tool("prepare_dataset.py", "hmdb51", raw, out, "--n_jobs", 1, "--size", 40, "--dry_run")
    assert "videos found: 12 in 4 classes" in again.stdout
    unpacked = run_tool("prepare_dataset.py", "hmdb51", out / "raw" / "hmdb51", tmp_path / "other", "--dry_run")
    assert "archives in" in unpacked.stdout and "videos found: 12 in 4 classes" in unpacked.stdout
    assert "testTrainMulti_7030_splits" in unpacked.stdout
    resumed = run_tool("prepare_dataset.py", "hmdb51", raw, out, "--n_jobs", 1, "--size", 40, timeout=600)
    assert resumed.returncode == 0 and "unpacking" not in resumed.stdout
    assert resumed.stdout.count("done 0, skipped 12 (already done), failed 0") == 2  # frames and flow


@needs_bsdtar
def test_ucf101_zip_and_rar_without_flow_relative_paths_from_another_folder(tmp_path):
    """Run from the user's folder with relative paths (the tools it starts see the same paths)."""
    raw, out = tmp_path / "download", tmp_path / "datasets"
    make_download("ucf101", raw, videos_per_class=3, n_frames=6, width=48, height=40)
    result = subprocess.run([sys.executable, str(REPO / "prepare_dataset.py"), "ucf101", "download", "datasets",
                             "--n_jobs", "1", "--size", "40", "--no_flow"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    labels = json.loads((out / "rgb" / "ucf101" / "annotation" / "ucf101_01.json").read_text())["labels"]
    assert labels == ["MoveDown", "MoveLeft", "MoveRight", "MoveUp"]
    assert counts(out / "rgb" / "ucf101" / "annotation" / "ucf101_01.json") == (8, 4)
    assert not (out / "flow").exists()


def test_unpacked_folders_and_clear_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_tool("prepare_dataset.py", "hmdb51", empty, tmp_path / "out")
    assert result.returncode == 2 and "no <class>/<video>.avi videos found" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run_tool("prepare_dataset.py", "ucf101", tmp_path / "nowhere", tmp_path / "out")
    assert missing.returncode == 2 and f"RAW_DIR {tmp_path / 'nowhere'}: no such folder" in missing.stderr
