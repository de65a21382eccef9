"""A frame extraction killed half-way (SIGKILL: nothing cleaned up) or interrupted (Ctrl-C) and run again
ends complete and clean."""
import os
import signal
import subprocess
import sys
import time

from tests.fixtures.tools import REPO, finished_folders, hidden_entries, run_tool
from tests.fixtures.media import moving_disc_frames, write_video
from src.data.layout import rgb_frame_paths

N_VIDEOS, N_FRAMES = 12, 40


def write_clips(src):
    for i in range(N_VIDEOS):
        write_video(src / ("odd" if i % 2 else "even") / f"clip {i:02d}.avi", moving_disc_frames(320, 240, N_FRAMES))


def start_and_stop(src, dst, n_jobs, stop):
    """Start the tool, call stop(proc) once 3 videos are finished; returns (exit status, stdout)."""
    proc = subprocess.Popen([sys.executable, "generate_rgb_jpgs.py", str(src), str(dst), "hmdb51", "--n_jobs", str(n_jobs)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while len(finished_folders(dst)) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    stop(proc)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


def check_complete(dst):
    folders = finished_folders(dst)
    assert len(folders) == N_VIDEOS
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir() if p.name != "n_frames") == [p.name for p in rgb_frame_paths(folder)]
        assert len(rgb_frame_paths(folder)) == N_FRAMES and (folder / "n_frames").read_text() == str(N_FRAMES)
    assert hidden_entries(dst) == []


def test_killed_run_resumes_to_complete_folders(tmp_path):
    src, dst = tmp_path / "videos", tmp_path / "jpg"
    write_clips(src)
    start_and_stop(src, dst, 1, lambda proc: proc.kill())
    finished_before = finished_folders(dst)
    assert 3 <= len(finished_before) < N_VIDEOS, "the run ended before it could be killed half-way"

    # What a crash can leave besides a partial folder of this run: a stale temp folder of another pid, and a
    # final folder without n_frames (e.g. written by the original tool, which had no completion marker).
    unfinished = [v.name for v in sorted(src.glob("*/*.avi")) if dst / v.parent.name / v.stem not in finished_before]
    stale = dst / "odd" / ".clip 11.partial-999999"
    stale.mkdir(parents=True, exist_ok=True)
    (stale / "image_00001.jpg").write_bytes(b"half")
    incomplete = dst / "odd" / "clip 09"
    incomplete.mkdir(parents=True, exist_ok=True)
    (incomplete / "image_00099.jpg").write_bytes(b"")
    assert "clip 11.avi" in unfinished and "clip 09.avi" in unfinished

    result = run_tool("generate_rgb_jpgs.py", src, dst, "hmdb51", "--n_jobs", 2)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"done {N_VIDEOS - len(finished_before)}, skipped {len(finished_before)} (already done), failed 0" in result.stdout
    check_complete(dst)

    again = run_tool("generate_rgb_jpgs.py", src, dst, "hmdb51", "--n_jobs", 1)
    assert f"done 0, skipped {N_VIDEOS} (already done), failed 0" in again.stdout and again.returncode == 0


def test_ctrl_c_stops_the_workers_and_leaves_no_partial_folder(tmp_path):
    src, dst = tmp_path / "videos", tmp_path / "jpg"
    write_clips(src)
    status, out = start_and_stop(src, dst, 2, lambda proc: os.killpg(proc.pid, signal.SIGINT))  # as a terminal does
    assert status == 130 and "interrupted: run the same command again to resume" in out
    assert 3 <= len(finished_folders(dst)) < N_VIDEOS
    assert hidden_entries(dst) == []
    result = run_tool("generate_rgb_jpgs.py", src, dst, "hmdb51", "--n_jobs", 2)
    assert result.returncode == 0 and "failed 0" in result.stdout
    check_complete(dst)
