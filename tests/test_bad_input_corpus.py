"""A corpus of bad inputs for every command: each ends with its exit status, the offending path or flag
in the message, no traceback, no temp files left behind, and finished outputs untouched.

Exit statuses: 0 ok, 1 some items of a batch failed (listed), 2 a usage or input error.
"""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import mindspore as ms
import numpy as np
import pytest

from src.common.atomic import LOCK_NAME
from src.model.i3d import build_i3d
from tests.fixtures.media import moving_disc_frames, write_video
from tests.fixtures.shared import REPO
from tests.fixtures.frame_tree import make_tree, write_flow_video

MS_ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}


def run(*args, timeout=300):
    script = str(args[0])
    cmd = [sys.executable, script] if script.endswith(".py") else ["bash", str(REPO / script)]
    return subprocess.run([*cmd, *map(str, args[1:])], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env=MS_ENV)


def digest(root):
    """Hash of every file under root (a finished output must come out of a failed run unchanged)."""
    h = hashlib.sha256()
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and path.name != LOCK_NAME:
            h.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return h.hexdigest()


def leftovers(root):
    return sorted(str(p) for p in Path(root).rglob("*") if (".partial" in p.name or p.name.endswith(".tmp")))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Good and bad inputs side by side; `done` holds finished outputs that no failed run may change."""
    c = tmp_path_factory.mktemp("corpus")
    write_video(c / "videos" / "wave" / "good.avi", moving_disc_frames(48, 40, 6))
    (c / "videos" / "wave" / "empty.avi").write_bytes(b"")
    (c / "videos" / "wave" / "text.avi").write_text("not a video")
    write_video(c / "videos" / "wave" / "twin.avi", moving_disc_frames(48, 40, 4))
    write_video(c / "videos" / "wave" / "twin.AVI", moving_disc_frames(48, 40, 5))
    (c / "only_file").write_text("x")
    ann = make_tree(c / "tree", n_videos=4, n_frames=6)  # c/tree/jpg + c/tree/ann.json, finished
    (c / "tree" / "jpg" / "a" / "vid00" / "image_00003.jpg").unlink()                # a gap
    (c / "tree" / "jpg" / "b" / "vid01" / "image_00002.jpg").write_bytes(b"")        # zero-byte JPEG
    data = (c / "tree" / "jpg" / "a" / "vid02" / "image_00004.jpg").read_bytes()
    (c / "tree" / "jpg" / "a" / "vid02" / "image_00004.jpg").write_bytes(data[: len(data) // 3])  # truncated
    good = make_tree(c / "good", n_videos=4, n_frames=10)
    for key, level in (("vid00", 140), ("vid01", 110), ("vid02", 140), ("vid03", 110)):
        write_flow_video(c / "good" / "flow", "ab"[int(key[-1]) % 2], key, [np.full((32, 40), level, np.uint8)] * 10,
                         [np.full((32, 40), 128, np.uint8)] * 10)
    (c / "nan_count").mkdir()
    (c / "bytes.json").write_bytes(b"\xff\xfe{not utf-8")
    (c / "list.json").write_text("[1, 2, 3]")
    (c / "shape.json").write_text(json.dumps({"labels": "a b", "database": {}}))
    (c / "entries.json").write_text(json.dumps({"labels": ["a", "b"], "database": {"x": "training"}}))
    (c / "splits").mkdir()
    (c / "splits" / "wave_test_split1.txt").write_bytes(b"good.avi 1 \n\xff\xfe bad bytes 2\n")
    (c / "splits_bad").mkdir()
    (c / "splits_bad" / "wave_test_split1.txt").write_text("good.avi one\n")
    (c / "ucf").mkdir()
    (c / "ucf" / "classInd.txt").write_text("1 Wave\n")
    ckpt = c / "net.ckpt"
    ms.save_checkpoint(build_i3d("rgb", 2), str(ckpt))
    (c / "garbage.ckpt").write_bytes(os.urandom(2000))
    (c / "empty.ckpt").write_bytes(b"")
    raw = ckpt.read_bytes()
    (c / "cut.ckpt").write_bytes(raw[: len(raw) // 2])
    np.save(c / "nan.npy", np.full((9, 32, 32, 3), np.nan, np.float32))
    (c / "header.npy").write_bytes(b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, "
                                   b"'shape': (99999999999, 99999999, 3), }" + b" " * 40 + b"\n")
    (c / "junk.npy").write_bytes(b"\x93NUMPY garbage")
    (c / "labels.txt").write_bytes(b"\xff\xfe\x00bad")
    loop = c / "loop_src" / "wave"
    loop.mkdir(parents=True)
    os.symlink(loop, loop / "again")
    write_video(loop / "ok.avi", moving_disc_frames(48, 40, 3))
    (c / "readonly").write_text("a file where a folder is wanted: as unwritable as a read-only folder, even for root")
    (c / "done").mkdir()
    run("generate_rgb_jpgs.py", c / "videos" / "wave" / "..", c / "done" / "jpg", "hmdb51", "--n_jobs", 1)
    return c


def cases():
    """(id, argv builder, expected status, text the message must contain: a path or a flag)."""
    jobs = ["--n_jobs", 1]
    return [
        # generate_rgb_jpgs
        ("frames_missing_src", lambda c: ("generate_rgb_jpgs.py", c / "nope", c / "o1", "hmdb51"), 2, "nope"),
        ("frames_src_is_file", lambda c: ("generate_rgb_jpgs.py", c / "only_file", c / "o2", "hmdb51"), 2, "only_file"),
        ("frames_bad_videos", lambda c: ("generate_rgb_jpgs.py", c / "videos", c / "o3", "hmdb51", *jobs), 1, "empty.avi"),
        ("frames_twins", lambda c: ("generate_rgb_jpgs.py", c / "videos", c / "o4", "hmdb51", *jobs), 1, "twin.avi"),
        ("frames_size_0", lambda c: ("generate_rgb_jpgs.py", c / "videos", c / "o5", "hmdb51", "--size", 0), 2, "--size"),
        ("frames_size_neg", lambda c: ("generate_rgb_jpgs.py", c / "videos", c / "o6", "hmdb51", "--size", -4), 2, "--size"),
        ("frames_quality", lambda c: ("generate_rgb_jpgs.py", c / "videos", c / "o7", "hmdb51", "--quality", 101), 2,
         "--quality"),
        ("frames_dataset", lambda c: ("generate_rgb_jpgs.py", c / "videos", c / "o8", "kinetics"), 2, "kinetics"),
        ("frames_readonly_out", lambda c: ("generate_rgb_jpgs.py", c / "videos", c / "readonly" / "jpg", "hmdb51"), 2,
         "readonly"),
        ("frames_symlink_loop", lambda c: ("generate_rgb_jpgs.py", c / "loop_src", c / "o9", "hmdb51", *jobs), 0, ""),
        ("frames_dotdot_ok", lambda c: ("generate_rgb_jpgs.py", c / "videos" / "wave" / "..", c / "done" / "jpg",
                                        "hmdb51", *jobs), 1, "twin.avi"),
        # convert_rgb_to_flow
        ("flow_missing", lambda c: ("convert_rgb_to_flow.py", f"--rgb_path={c / 'nope'}", f"--flow_path={c / 'f1'}"), 2,
         "nope"),
        ("flow_gap_zero_truncated", lambda c: ("convert_rgb_to_flow.py", f"--rgb_path={c / 'tree' / 'jpg'}",
                                               f"--flow_path={c / 'f2'}", *jobs), 1, "image_00003.jpg"),
        ("flow_bound", lambda c: ("convert_rgb_to_flow.py", f"--rgb_path={c / 'tree' / 'jpg'}", f"--flow_path={c / 'f3'}",
                                  "--bound", 0), 2, "--bound"),
        ("flow_readonly", lambda c: ("convert_rgb_to_flow.py", f"--rgb_path={c / 'good' / 'jpg'}",
                                     f"--flow_path={c / 'readonly' / 'flow'}"), 2, "readonly"),
        # split JSON tools
        ("json_missing_splits", lambda c: ("hmdb51_json.py", c / "nope", c / "done" / "jpg", c / "j1"), 2, "nope"),
        ("json_bytes", lambda c: ("hmdb51_json.py", c / "splits", c / "done" / "jpg", c / "j2"), 2,
         "wave_test_split1.txt"),
        ("json_bad_line", lambda c: ("hmdb51_json.py", c / "splits_bad", c / "done" / "jpg", c / "j3"), 2,
         "wave_test_split1.txt"),
        ("json_missing_jpg", lambda c: ("hmdb51_json.py", c / "splits_bad", c / "nope", c / "j4"), 2, "nope"),
        ("ucf_missing_lists", lambda c: ("ucf101_json.py", c / "ucf", c / "done" / "jpg", c / "j5"), 2, "trainlist01.txt"),
        ("json_readonly", lambda c: ("hmdb51_json.py", c / "splits_bad", c / "done" / "jpg", c / "readonly" / "a"), 2,
         "readonly"),
        # generate_n_frames / make_split_json / prepare_dataset
        ("n_frames_missing", lambda c: ("generate_n_frames.py", c / "nope"), 2, "nope"),
        ("n_frames_empty", lambda c: ("generate_n_frames.py", c / "nan_count"), 2, "nan_count"),
        ("n_frames_gap", lambda c: ("generate_n_frames.py", c / "tree" / "jpg", *jobs), 1, "rgb frame 3 is missing"),
        ("split_json_no_mode", lambda c: ("tools/make_split_json.py", c / "done" / "jpg", c / "s.json"), 2, "--val_ratio"),
        ("split_json_ratio", lambda c: ("tools/make_split_json.py", c / "done" / "jpg", c / "s.json", "--val_ratio", 1.5), 2,
         "--val_ratio"),
        ("prepare_missing", lambda c: ("prepare_dataset.py", "hmdb51", c / "nope", c / "p"), 2, "nope"),
        ("prepare_wrong_archive", lambda c: ("prepare_dataset.py", "hmdb51", wrong_archive(c), c / "p2"), 2,
         "hmdb51_org.rar"),
        # pt2ckpt
        ("pt2ckpt_missing", lambda c: ("pt2ckpt.py", "--pretrained_path", c / "nope.pt", "--save_path", c / "x.ckpt"), 2,
         "nope.pt"),
        ("pt2ckpt_garbage", lambda c: ("pt2ckpt.py", "--pretrained_path", c / "garbage.ckpt", "--save_path",
                                       c / "x.ckpt"), 2, "garbage.ckpt"),
        ("pt2ckpt_cut", lambda c: ("pt2ckpt.py", "--pretrained_path", c / "cut.ckpt", "--save_path", c / "x.ckpt"), 2,
         "cut.ckpt"),
        ("pt2ckpt_readonly", lambda c: ("pt2ckpt.py", "--pretrained_path", c / "net.ckpt", "--save_path",
                                        c / "readonly" / "sub" / "x.ckpt"), 2, "readonly"),
        # predict
        ("predict_missing", lambda c: ("predict.py", c / "nope.avi", "--checkpoint", c / "net.ckpt"), 2, "nope.avi"),
        ("predict_nan", lambda c: ("predict.py", c / "nan.npy", "--checkpoint", c / "net.ckpt"), 2, "nan.npy"),
        ("predict_header", lambda c: ("predict.py", c / "header.npy", "--checkpoint", c / "net.ckpt"), 2, "header.npy"),
        ("predict_junk_npy", lambda c: ("predict.py", c / "junk.npy", "--checkpoint", c / "net.ckpt"), 2, "junk.npy"),
        ("predict_top_k", lambda c: ("predict.py", c / "nan.npy", "--checkpoint", c / "net.ckpt", "--top_k", -1), 2,
         "--top_k"),
        ("predict_num_frames", lambda c: ("predict.py", c / "nan.npy", "--checkpoint", c / "net.ckpt", "--num_frames",
                                          -100), 2, "--num_frames"),
        ("predict_resize", lambda c: ("predict.py", c / "nan.npy", "--checkpoint", c / "net.ckpt", "--resize", 0), 2,
         "--resize"),
        ("predict_garbage_ckpt", lambda c: ("predict.py", c / "good" / "jpg" / "a" / "vid00", "--checkpoint",
                                            c / "garbage.ckpt", "--crop", 32), 2, "garbage.ckpt"),
        ("predict_empty_ckpt", lambda c: ("predict.py", c / "good" / "jpg" / "a" / "vid00", "--checkpoint",
                                          c / "empty.ckpt", "--crop", 32), 2, "empty.ckpt"),
        ("predict_labels_bytes", lambda c: ("predict.py", c / "good" / "jpg" / "a" / "vid00", "--checkpoint",
                                            c / "net.ckpt", "--crop", 32, "--labels", c / "labels.txt"), 2, "labels.txt"),
        ("predict_zero_jpeg", lambda c: ("predict.py", c / "tree" / "jpg" / "b" / "vid01", "--checkpoint",
                                         c / "net.ckpt", "--crop", 32), 2, "image_00002.jpg"),
        # train
        ("train_epochs_0", lambda c: ("train.py", "--dataset", "hmdb51", "--mode", "rgb", "--num_epochs", 0), 2,
         "--num_epochs"),
        ("train_batch_0", lambda c: ("train.py", "--dataset", "hmdb51", "--mode", "rgb", "--batch_size", 0), 2,
         "--batch_size"),
        ("train_json_bytes", lambda c: train(c, c / "bytes.json"), 2, "bytes.json"),
        ("train_json_list", lambda c: train(c, c / "list.json"), 2, "list.json"),
        ("train_json_shape", lambda c: train(c, c / "shape.json"), 2, "shape.json"),
        ("train_json_entries", lambda c: train(c, c / "entries.json"), 2, "entries.json"),
        ("train_gap", lambda c: train(c, c / "tree" / "ann.json", c / "tree" / "jpg"), 2, "image_00003.jpg"),
        ("train_garbage_ckpt", lambda c: train(c, c / "good" / "ann.json", checkpoint=c / "garbage.ckpt"), 2,
         "garbage.ckpt"),
        ("train_readonly_run", lambda c: train(c, c / "good" / "ann.json", run_dir=c / "readonly" / "run"), 2,
         "readonly"),
        # eval / export
        ("eval_joint_no_flow", lambda c: ("eval.py", "--dataset", "hmdb51", "--test_mode", "joint", "--video_path",
                                          c / "good" / "jpg", "--annotation_path", c / "good" / "ann.json",
                                          "--rgb_path", c / "net.ckpt"), 2, "--flow_path"),
        ("eval_cut_ckpt", lambda c: ("eval.py", "--dataset", "hmdb51", "--test_mode", "rgb", "--video_path",
                                     c / "good" / "jpg", "--annotation_path", c / "good" / "ann.json",
                                     "--rgb_path", c / "cut.ckpt", "--subset", "training"), 2, "cut.ckpt"),
        ("eval_json_entries", lambda c: ("eval.py", "--dataset", "hmdb51", "--test_mode", "rgb", "--video_path",
                                         c / "good" / "jpg", "--annotation_path", c / "entries.json",
                                         "--rgb_path", c / "net.ckpt"), 2, "entries.json"),
        ("export_batch_0", lambda c: ("export.py", "--checkpoint_path", c / "net.ckpt", "--mode", "rgb",
                                      "--batch_size", 0), 2, "--batch_size"),
        ("export_missing", lambda c: ("export.py", "--checkpoint_path", c / "nope.ckpt", "--mode", "rgb"), 2,
         "nope.ckpt"),
        ("export_readonly", lambda c: ("export.py", "--checkpoint_path", c / "net.ckpt", "--mode", "rgb",
                                       "--file_name", c / "readonly" / "sub" / "m", "--sample_duration", 9,
                                       "--spatial_size", 32, "--batch_size", 1), 2, "readonly"),
        # scripts
        ("script_dataset", lambda c: ("scripts/run_standalone_train.sh", 0, "kinetics", "rgb", 1), 2, "kinetics"),
        ("script_mode", lambda c: ("scripts/run_single_eval.sh", 0, "depth", "hmdb51", c / "net.ckpt"), 2, "depth"),
    ]


def train(c, annotation, video_path=None, checkpoint=None, run_dir=None):
    return ("train.py", "--dataset", "hmdb51", "--mode", "rgb", "--video_path", video_path or c / "good" / "jpg",
            "--annotation_path", annotation, "--finetune_num_classes", 2, "--spatial_size", 32,
            "--train_sample_duration", 9, "--batch_size", 2, "--context", "py", "--num_workers", 1, "--num_epochs", 1,
            "--run_dir", run_dir or c / "runs" / Path(str(annotation)).stem,
            *(("--checkpoint_path", checkpoint) if checkpoint else ()))


def wrong_archive(c):
    raw = c / "wrong_archive"
    raw.mkdir(exist_ok=True)
    (raw / "hmdb51_org.rar").write_text("this is a text file, not a RAR archive")
    return raw


CASES = cases()


@pytest.mark.parametrize("name,argv,status,needle", CASES, ids=[c[0] for c in CASES])
def test_bad_input(corpus, name, argv, status, needle):
    if name.startswith("prepare_wrong") and not __import__("shutil").which("bsdtar"):
        pytest.skip("needs bsdtar (apt-get install libarchive-tools)")
    before = digest(corpus / "done")
    result = run(*argv(corpus))
    output = result.stdout + result.stderr
    assert result.returncode == status, f"{name}: exit {result.returncode}\n{output[-3000:]}"
    assert needle in output, f"{name}: {needle!r} not named\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    assert leftovers(corpus) == []
    assert digest(corpus / "done") == before


def test_the_corpus_is_large():
    assert len(CASES) >= 55


def test_a_second_run_into_the_same_output_is_refused(corpus, tmp_path):
    """While one run holds the output folder, another stops at once and names it."""
    from src.common.atomic import OutputBusy, exclusive_output

    with exclusive_output(tmp_path / "out", "generate_rgb_jpgs"):
        result = run("generate_rgb_jpgs.py", corpus / "videos", tmp_path / "out", "hmdb51", "--n_jobs", 1)
        assert result.returncode == 2 and f"{tmp_path / 'out'}: another generate_rgb_jpgs is writing" in result.stderr
        with pytest.raises(OutputBusy, match="pid"):
            with exclusive_output(tmp_path / "out", "x"):
                pass
    assert run("generate_rgb_jpgs.py", corpus / "videos" / "wave" / "..", tmp_path / "out2", "hmdb51", "--n_jobs", 1).returncode == 1


def test_a_failed_training_setup_leaves_nothing_that_blocks_the_next_run(corpus):
    run_dir = corpus / "runs" / "blocked"
    first = run(*train(corpus, corpus / "good" / "ann.json", checkpoint=corpus / "garbage.ckpt", run_dir=run_dir))
    assert first.returncode == 2 and not run_dir.exists()
    run_dir.joinpath("checkpoints").mkdir(parents=True)  # what older versions left behind
    second = run(*train(corpus, corpus / "good" / "ann.json", run_dir=run_dir), timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
