"""A corpus of bad inputs for every command: each ends with its exit status, the offending path or flag
in the message, no traceback, no temp files left behind, and finished outputs untouched.

Exit statuses: 0 ok, 1 some items of a batch failed (listed), 2 a usage or input error.
"""
import hashlib
import json
import re
import os
import subprocess
import sys
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest

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
        if path.is_file():
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
    make_tree(c / "tree", n_videos=4, n_frames=6)  # c/tree/jpg + c/tree/ann.json, finished
    (c / "tree" / "jpg" / "a" / "vid00" / "image_00003.jpg").unlink()                # a gap
    (c / "tree" / "jpg" / "b" / "vid01" / "image_00002.jpg").write_bytes(b"")        # zero-byte JPEG
    data = (c / "tree" / "jpg" / "a" / "vid02" / "image_00004.jpg").read_bytes()
    (c / "tree" / "jpg" / "a" / "vid02" / "image_00004.jpg").write_bytes(data[: len(data) // 3])  # truncated
    make_tree(c / "good", n_videos=4, n_frames=10)
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
    round_three(c)
    return c


def round_three(c):
    """Inputs of the third hostile-user pass: the patterns, not the exact cases."""
    make_tree(c / "zero", n_videos=4, n_frames=10)  # a 0-byte frame met in training
    (c / "zero" / "jpg" / "b" / "vid01" / "image_00002.jpg").write_bytes(b"")
    (c / "big_int.json").write_text('{"labels": ["a"], "database": {"x": {"subset": "training", "annotations": '
                                    '{"label": "a", "segment": [1, ' + "7" * 5000 + ']}}}}')
    data = json.loads((c / "good" / "ann.json").read_text())
    next(iter(data["database"].values()))["subset"] = "holdout"
    (c / "subset.json").write_text(json.dumps(data))
    (c / "dup.yaml").write_text("dataset: hmdb51\nlr: 0.1\nbatch_size: 2\nlr: 0.2\n")
    (c / "ucf_one_token").mkdir()
    (c / "ucf_one_token" / "classInd.txt").write_text("1 Wave\n2\n")
    (c / "splits_empty").mkdir()
    (c / "splits_empty" / "wave_test_split1.txt").write_text("")
    (c / "splits_bom").mkdir()
    for split in (1, 2, 3):
        (c / "splits_bom" / f"wave_test_split{split}.txt").write_bytes(b"\xef\xbb\xbfgood.avi 1\ntwin.avi 2\n")
    (c / "metrics_bad").mkdir()
    (c / "metrics_bad" / "metrics.csv").write_text("epoch,loss\n1,0.5\n2,abc\n")
    (c / "metrics_cols").mkdir()
    (c / "metrics_cols" / "metrics.csv").write_text("when,what\n1,2\n")
    np.save(c / "pickled_labels.npy", np.array([np.array([1, 0]), np.array([1])], dtype=object), allow_pickle=True)
    (c / "text_labels.npy").write_text("1 0 1\n")
    (c / "lists").mkdir()
    (c / "lists" / "train.txt").write_text("wave/good\n")
    (c / "raw_empty").mkdir()
    (c / "raw_empty" / "hmdb51_org.rar").write_bytes(b"")
    (c / "raw_empty" / "test_train_splits.rar").write_bytes(b"")


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
        ("frames_symlink_loop", lambda c: ("generate_rgb_jpgs.py", c / "loop_src", c / "o9", "hmdb51", *jobs), 0,
         "done 1, skipped 0 (already done), failed 0"),
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
        ("split_json_of_videos", lambda c: ("tools/make_split_json.py", c / "videos", c / "s_vid.json", "--val_ratio", 0.5),
         2, "not the videos"),
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


def train(c, annotation, video_path=None, checkpoint=None, run_dir=None, *extra):
    return ("train.py", "--dataset", "hmdb51", "--mode", "rgb", "--video_path", video_path or c / "good" / "jpg",
            "--annotation_path", annotation, "--finetune_num_classes", 2, "--spatial_size", 32,
            "--train_sample_duration", 9, "--batch_size", 2, "--context", "py", "--num_workers", 1, "--num_epochs", 1,
            "--run_dir", run_dir or c / "runs" / Path(str(annotation)).stem,
            *(("--checkpoint_path", checkpoint) if checkpoint else ()), *extra)


def round_three_cases():
    """The patterns of the third pass, over every tool they apply to (docs/bad_input.md lists the rules)."""
    jobs = ["--n_jobs", 1]
    good_jpg, good_ann = lambda c: c / "good" / "jpg", lambda c: c / "good" / "ann.json"
    flow = lambda c, out, *more: ("convert_rgb_to_flow.py", f"--rgb_path={good_jpg(c)}", f"--flow_path={out}", *jobs,
                                  *more)
    post = lambda c, labels: ("postprocess.py", "--dataset", "hmdb51", "--mode", "rgb", "--num-classes", 2,
                              "--batch-size", 2, "--label-path", labels, "--result_path", c / "good")
    return [
        # rule 3: numbers that cannot work, named by their flag, before any work
        *[(f"frames_fps_{name}", lambda c, v=v: ("generate_rgb_jpgs.py", c / "videos", c / "o10", "hmdb51", *jobs,
                                                  "--fps", v), 2, "--fps")
          for name, v in (("inf", "inf"), ("huge", "1e300"), ("nan", "nan"), ("0", "0"))],
        ("frames_jobs_huge", lambda c: ("generate_rgb_jpgs.py", c / "videos", c / "o11", "hmdb51", "--n_jobs",
                                        10**9), 2, "--n_jobs"),
        ("flow_shard_unicode", lambda c: flow(c, c / "f4", "--shard", "\u0661/\u0662"), 2, "--shard"),
        ("flow_shard_superscript", lambda c: flow(c, c / "f5", "--shard", "\u00b2/3"), 2, "--shard"),
        ("flow_bound_inf", lambda c: flow(c, c / "f6", "--bound", "inf"), 2, "--bound"),
        ("split_json_seed", lambda c: ("tools/make_split_json.py", c / "done" / "jpg", c / "s2.json", "--val_ratio", 0.5,
                                       "--seed", -1), 2, "--seed"),
        ("train_seed", lambda c: train(c, good_ann(c), None, None, None, "--seed", -3), 2, "--seed"),
        ("train_epochs_huge", lambda c: train(c, good_ann(c), None, None, None, "--num_epochs", 10**12), 2,
         "--num_epochs"),
        ("train_epochs_digits", lambda c: train(c, good_ann(c), None, None, None, "--num_epochs", "9" * 5000), 2,
         "(5000 characters)"),
        ("train_lr_nan", lambda c: train(c, good_ann(c), None, None, None, "--lr", "nan"), 2, "--lr"),
        ("train_prefix_typo", lambda c: train(c, good_ann(c), None, c / "net.ckpt", c / "runs" / "typo",
                                              "--finetune_prefixes", "logits,Mixd_5"), 2, "Mixd_5"),
        ("eval_subset_unknown", lambda c: ("eval.py", "--dataset", "hmdb51", "--test_mode", "rgb", "--video_path",
                                           good_jpg(c), "--annotation_path", good_ann(c), "--rgb_path", c / "net.ckpt",
                                           "--subset", "dev"), 2, "--subset"),
        ("prepare_flow_backend", lambda c: ("prepare_dataset.py", "hmdb51", c / "raw_empty", c / "p4", "--flow_backend",
                                            "gpu"), 2, "--flow_backend"),
        # rule 2: outputs never equal to or inside an input
        ("frames_out_in_src", lambda c: ("generate_rgb_jpgs.py", c / "videos", c / "videos" / "jpg", "hmdb51", *jobs),
         2, "DST_PATH"),
        ("flow_same_tree", lambda c: flow(c, good_jpg(c)), 2, "--flow_path"),
        ("flow_inside_rgb", lambda c: flow(c, good_jpg(c) / "flow"), 2, "--flow_path"),
        ("json_dst_in_jpg", lambda c: ("hmdb51_json.py", c / "splits_bad", c / "done" / "jpg",
                                       c / "done" / "jpg" / "annotation"), 2, "DST_DIR"),
        ("split_json_over_list", lambda c: ("tools/make_split_json.py", c / "done" / "jpg", c / "lists" / "train.txt",
                                            "--train_list", c / "lists" / "train.txt", "--test_list",
                                            c / "lists" / "train.txt"), 2, "--train_list"),
        ("pt2ckpt_same_file", lambda c: ("pt2ckpt.py", "--pretrained_path", c / "net.ckpt", "--save_path",
                                         c / "net.ckpt"), 2, "--save_path"),
        ("pt2ckpt_folder", lambda c: ("pt2ckpt.py", "--pretrained_path", c / "net.ckpt", "--save_path", c / "done"), 2,
         "is a folder"),
        ("export_over_ckpt", lambda c: ("export.py", "--checkpoint_path", c / "net.ckpt", "--mode", "rgb", "--file_name",
                                        c / "net.ckpt"), 2, "--file_name"),
        ("infer_bins_into_input", lambda c: ("tools/infer_bins.py", "--mindir_path", c / "nope.mindir", "--input0_path",
                                             c / "good", "--result_path", c / "good"), 2, "--result_path"),
        ("preprocess_into_tree", lambda c: ("preprocess.py", "--dataset", "hmdb51", "--mode", "rgb", "--video_path",
                                            good_jpg(c), "--annotation_path", good_ann(c), "--result_path",
                                            good_jpg(c) / "bins"), 2, "--result_path"),
        ("prepare_out_in_raw", lambda c: ("prepare_dataset.py", "hmdb51", c / "raw_empty", c / "raw_empty" / "out"), 2,
         "OUT_ROOT"),
        # rule 1: no pickle
        ("postprocess_pickle", lambda c: post(c, c / "pickled_labels.npy"), 2, "holds a pickle"),
        ("postprocess_text", lambda c: post(c, c / "text_labels.npy"), 2, "--label-path"),
        # rule 5: a marker never stands for an empty download
        ("prepare_empty_archive", lambda c: ("prepare_dataset.py", "hmdb51", c / "raw_empty", c / "p5", "--no_flow"), 2,
         "empty file"),
        # rules 6, 7: every message names its file; subsets by their names
        ("train_zero_byte_frame", lambda c: train(c, c / "zero" / "ann.json", c / "zero" / "jpg"), 2,
         "image_00002.jpg: empty file"),
        ("train_json_big_int", lambda c: train(c, c / "big_int.json"), 2, "big_int.json"),
        ("train_subset_unknown", lambda c: train(c, c / "subset.json"), 2, "unknown subset 'holdout'"),
        ("train_yaml_duplicate", lambda c: ("train.py", "--mode", "rgb", "--config", c / "dup.yaml"), 2, "twice"),
        ("ucf_classind_one_token", lambda c: ("ucf101_json.py", c / "ucf_one_token", c / "done" / "jpg", c / "j6"), 2,
         "classInd.txt"),
        ("json_empty_splits", lambda c: ("hmdb51_json.py", c / "splits_empty", c / "done" / "jpg", c / "j7"), 2,
         "splits_empty"),
        ("json_bom_ok", lambda c: ("hmdb51_json.py", c / "splits_bom", c / "done" / "jpg", c / "j8"), 0,
         "1 training, 1 validation"),
        ("plot_bad_cell", lambda c: ("tools/plot_run.py", c / "metrics_bad"), 2, "line 3: loss='abc'"),
        ("plot_no_columns", lambda c: ("tools/plot_run.py", c / "metrics_cols"), 2, "metrics.csv"),
    ]


def wrong_archive(c):
    raw = c / "wrong_archive"
    raw.mkdir(exist_ok=True)
    (raw / "hmdb51_org.rar").write_text("this is a text file, not a RAR archive")
    return raw


def entry_point_cases():
    """One bad input for each entry point the other tables do not reach (test_every_entry_point_has_a_case)."""
    good_jpg, good_ann = lambda c: c / "good" / "jpg", lambda c: c / "good" / "ann.json"
    return [
        ("eval_onnx_missing_model", lambda c: ("eval_onnx.py", "--dataset", "hmdb51", "--test_mode", "rgb",
                                               "--video_path", good_jpg(c), "--annotation_path", good_ann(c),
                                               "--rgb_path", c / "missing.onnx"), 2, "--rgb_path"),
        ("features_missing_checkpoint", lambda c: ("extract_features.py", good_jpg(c), c / "o_feat", "--checkpoint",
                                                   c / "missing.ckpt"), 2, "--checkpoint"),
        ("join_missing_clip", lambda c: ("tools/join_videos.py", c / "o_join.mp4", c / "missing.avi"), 2,
         "missing.avi: no such file"),
        ("joint_script_missing_ckpt", lambda c: ("scripts/run_joint_eval.sh", 0, "hmdb51", good_jpg(c), c / "good" / "flow",
                                                 good_ann(c), good_ann(c), c / "missing_r.ckpt", c / "missing_f.ckpt"),
         2, "--rgb_path"),
        ("onnx_script_bad_mode", lambda c: ("scripts/run_eval_onnx.sh", "sideways", "CPU", 0, "hmdb51"), 2,
         "run_eval_onnx.sh [rgb|flow]"),
        ("distribute_bad_dataset", lambda c: ("scripts/run_distribute_train.sh", 1, "none", "kinetics", "rgb", 1), 2,
         "dataset must be one of"),
        ("prepare_script_missing_downloads", lambda c: ("scripts/prepare_dataset.sh", "hmdb51", c / "no_downloads",
                                                        c / "o_ds"), 2, "no_downloads: no such folder"),
        ("get_pretrained_bad_flag", lambda c: ("scripts/get_pretrained.sh", "--bogus"), 2,
         "usage: bash scripts/get_pretrained.sh"),
        ("checkpoint_eval_missing_run", lambda c: ("scripts/run_distributed_single-mode_eval.sh", 1, "rgb", "hmdb51",
                                                   good_ann(c), good_jpg(c), c / "no_run", 4), 2, "no_run' does not exist"),
        ("demo_missing_video", lambda c: ("scripts/demo.sh", c / "missing.avi"), 2, "missing.avi: no such file"),
    ]


CASES = cases() + round_three_cases() + entry_point_cases()


@pytest.mark.parametrize("name,argv,status,needle", CASES, ids=[c[0] for c in CASES])
def test_bad_input(corpus, name, argv, status, needle):
    if name.startswith("prepare_wrong") and not __import__("shutil").which("bsdtar"):
        pytest.skip("needs bsdtar (apt-get install libarchive-tools)")
    before = digest(corpus / "done")
    result = run(*argv(corpus))
    output = result.stdout + result.stderr
    assert result.returncode == status, f"{name}: exit {result.returncode}\n{output[-3000:]}"
    assert needle in output, f"{name}: {needle!r} not named\n{output[-3000:]}"
    if re.fullmatch(r"--[\w-]+", needle):  # a flag at fault: named by the error line itself, not only the usage
        last = [line for line in output.splitlines() if line.strip()][-1]
        assert needle in last, f"{name}: the error line does not name {needle}: {last!r}"
    assert "Traceback" not in output, output[-3000:]
    assert leftovers(corpus) == []
    assert digest(corpus / "done") == before


# Entry points without a case here, and why (everything else a user runs must have at least one).
NO_CASE = {
    "scripts/common.sh": "a library the other scripts source, not a command",
    "scripts/check_flow_gpu.sh": "a measurement on a GPU machine; takes no paths",
    "scripts/check_device.sh": "a device check on the demo data it makes itself",
    "scripts/prepare_demo_data.sh": "writes the demo data it makes itself",
}


def test_every_entry_point_has_a_case():
    """The corpus covers every command a user runs: each top-level tool, tools/ and scripts/ entry point
    appears in at least one case (argv built without touching the corpus)."""
    shown = set()
    for name, argv, _status, _needle in CASES:
        try:
            shown.add(str(argv(Path("/corpus"))[0]))
        except OSError:  # a case whose argv reads the corpus
            continue
    entry_points = ({p.name for p in REPO.glob("*.py")} | {f"tools/{p.name}" for p in (REPO / "tools").glob("*.py")}
                    | {f"scripts/{p.name}" for p in (REPO / "scripts").glob("*.sh")})
    missing = sorted(e for e in entry_points - shown if e not in NO_CASE)
    assert not missing, f"entry points without a bad-input case: {missing}"


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
