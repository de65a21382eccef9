"""Official HMDB51 / UCF101 split files -> the original's annotation JSON (hmdb51_json, ucf101_json).

Schema: {"labels": [...], "database": {key: {"subset": "training"|"validation",
"annotations": {"label": cls, "segment": [1, n + 1]}}}}, n = rgb frames of `<jpg_dir>/<cls>/<key>`.
The split files are read as published: CRLF line ends (UCF101), trailing spaces and id 0 (HMDB51).
A listed video without a frame folder is reported; by default it stays in the JSON with n = 0, so the
split stays the official one and the loader names the missing folder if it is used (drop_missing=True
leaves it out instead).
"""
import json
import os
import re
from pathlib import Path

from src.common.atomic import refuse_overlap, write_text_atomic
from src.data import datasets
from src.data.layout import is_finished, read_n_frames, rgb_frame_paths, video_folder

HMDB_SPLIT_RE = re.compile(r"^(?P<label>.+)_test_split(?P<split>\d+)\.txt$")
HMDB_SUBSET = {"1": "training", "2": "validation"}  # id 0 = not used in this split


def read_lines(path):
    """Non-empty lines with line ends (LF or CRLF), a leading byte-order mark (Windows editors) and
    surrounding spaces removed."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def video_key(file_name):
    """The file name without its extension only (HMDB names may contain dots; the original cut at the first)."""
    return os.path.splitext(os.path.basename(file_name))[0]


def hmdb51_split(split_dir, split):
    """(labels, [(key, label, subset)]) for one HMDB51 split from `<class>_test_split<N>.txt`."""
    files = [(m.group("label"), m.group("split"), p) for p in sorted(Path(split_dir).iterdir())
             if (m := HMDB_SPLIT_RE.match(p.name))]
    labels = sorted({label for label, _, _ in files})
    if not labels:
        raise FileNotFoundError(f"{split_dir}: no <class>_test_split<N>.txt files")
    entries = []
    for label, n, path in files:
        if n != str(split):
            continue
        for line in read_lines(path):
            name, _, ident = line.rpartition(" ")
            if ident not in ("0", "1", "2") or not name:
                raise ValueError(f"{path}: line {line!r} is not '<video>.avi <0|1|2>'")
            if ident in HMDB_SUBSET:
                entries.append((video_key(name.strip()), label, HMDB_SUBSET[ident]))
    return labels, entries


def ucf101_split(split_dir, split):
    """(labels, [(key, label, subset)]) for one UCF101 split: classInd.txt, trainlist0N, testlist0N."""
    split_dir = Path(split_dir)
    labels = []
    for line in read_lines(split_dir / "classInd.txt"):
        fields = line.split()
        if len(fields) != 2 or not fields[0].isdigit():
            raise ValueError(f"{split_dir / 'classInd.txt'}: line {line!r} is not '<id> <class>'")
        labels.append(fields[1])
    known = set(labels)
    entries = []
    for subset, name in (("training", f"trainlist{split:02d}.txt"), ("validation", f"testlist{split:02d}.txt")):
        for line in read_lines(split_dir / name):
            video = line.split()[0]
            label = video.split("/")[0]
            if label not in known:
                raise ValueError(f"{split_dir / name}: class {label!r} of {video!r} is not in classInd.txt")
            entries.append((video_key(video), label, subset))
    return labels, entries


def check_subsets(entries, source, hint="empty split lists?"):
    """An annotation without training or without validation videos trains or evaluates on nothing: an
    error naming where the entries came from and the likely cause, not an empty JSON."""
    found = {subset for _, _, subset in entries}
    lacking = [s for s in ("training", "validation") if s not in found]
    if lacking:
        raise ValueError(f"{source}: no {' and no '.join(lacking)} videos listed ({hint})")


def rgb_frame_total(folder):
    """n for `segment`: the folder's n_frames, or its rgb frames counted when n_frames is not written yet."""
    if is_finished(folder):
        return read_n_frames(folder)
    return len(rgb_frame_paths(folder))


def build_database(entries, jpg_dir, drop_missing=False):
    """(database, missing): missing = `<label>/<key>` of listed videos with no frames under jpg_dir."""
    database, missing = {}, []
    for key, label, subset in entries:
        if key in database:
            raise ValueError(f"video {key!r} is listed twice in one split")
        folder = video_folder(jpg_dir, label, key)
        n = rgb_frame_total(folder) if folder.is_dir() else 0
        if n == 0:
            missing.append(f"{label}/{key}")
            if drop_missing:
                continue
        database[key] = {"subset": subset, "annotations": {"label": label, "segment": [1, n + 1]}}
    return database, missing


SPLIT_READERS = {"hmdb51": hmdb51_split, "ucf101": ucf101_split}  # by the registry's split_format


def write_split_jsons(dataset, split_dir, jpg_dir, dst_dir, drop_missing=False, show_missing=5):
    """Write the three split JSONs of a dataset, print what each holds; 1 if any listed video lacks frames."""
    spec = datasets.get(dataset)
    read_split = SPLIT_READERS[spec.split_format]
    if not Path(jpg_dir).is_dir():
        raise FileNotFoundError(f"{jpg_dir}: no such folder (the rgb frame folders from generate_rgb_jpgs)")
    refuse_overlap([("SPLIT_DIR", split_dir), ("JPG_DIR", jpg_dir)], [("DST_DIR", dst_dir)])
    dst_dir = Path(dst_dir)
    dst_dir.mkdir(parents=True, exist_ok=True)
    status = 0
    for split in spec.splits:
        labels, entries = read_split(split_dir, split)
        check_subsets(entries, f"{split_dir}: split {split}")
        database, missing = build_database(entries, jpg_dir, drop_missing)
        out = dst_dir / spec.annotation_name(split)
        write_text_atomic(out, json.dumps({"labels": labels, "database": database}))
        subsets = [v["subset"] for v in database.values()]
        print(f"{out}: {len(labels)} labels, {subsets.count('training')} training, "
              f"{subsets.count('validation')} validation")
        if missing:
            status = 1
            kept = "left out" if drop_missing else "kept with segment [1, 1]"
            print(f"  {len(missing)} listed videos have no frames under {jpg_dir} ({kept}); first: "
                  + ", ".join(missing[:show_missing]))
    return status


def main(dataset, argv=None):
    """The command line shared by hmdb51_json.py and ucf101_json.py."""
    import argparse

    spec = datasets.get(dataset)
    names = ", ".join(spec.annotation_name(s) for s in spec.splits)
    parser = argparse.ArgumentParser(prog=f"{dataset}_json",
                                     description=f"Official {dataset} split files -> {names}.")
    parser.add_argument("split_dir", help="the folder of the official split .txt files")
    parser.add_argument("jpg_dir", help="rgb frame folders <jpg_dir>/<class>/<video> (for segment)")
    parser.add_argument("dst_dir", help="the JSON files are written here")
    parser.add_argument("--drop_missing", action="store_true",
                        help="leave out listed videos that have no frames (default: keep them, segment [1, 1])")
    args = parser.parse_args(argv)
    return write_split_jsons(dataset, args.split_dir, args.jpg_dir, args.dst_dir, args.drop_missing)


# -- your own dataset: a folder per class, split lists or a seeded ratio ------------------------------

def custom_key(label, name):
    """Own datasets key entries `<class>/<video>`: video names may repeat across classes."""
    return f"{label}/{video_key(name)}"


def list_split(train_list, test_list):
    """(labels, entries) from two list files of `<class>/<video>[.ext]` lines; a trailing integer column
    (a class id, as in UCF101's lists) is ignored, so names may contain spaces."""
    entries = []
    for subset, path in (("training", train_list), ("validation", test_list)):
        for line in read_lines(path):
            head, _, last = line.rpartition(" ")
            video = (head if head and last.isdigit() else line).strip().replace("\\", "/")
            label, _, name = video.rpartition("/")
            if not label or not name:
                raise ValueError(f"{path}: line {line!r} is not '<class>/<video>'")
            entries.append((custom_key(label, name), label, subset))
    return sorted({label for _, label, _ in entries}), entries


def ratio_split(jpg_dir, val_ratio, seed=0):
    """(labels, entries): per class, a seeded `val_ratio` of the frame folders for validation (at least one
    when a class has two or more videos), the rest for training."""
    import numpy as np

    if not 0.0 < val_ratio < 1.0:
        raise ValueError(f"--val_ratio must be in (0, 1), got {val_ratio}")
    root = Path(jpg_dir)
    labels = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not labels:
        raise FileNotFoundError(f"{jpg_dir}: no <class> folders")
    entries = []
    for c, label in enumerate(labels):
        videos = sorted(p.name for p in (root / label).iterdir() if p.is_dir() and not p.name.startswith("."))
        held = int(round(val_ratio * len(videos)))
        held = min(max(held, 1), len(videos) - 1) if len(videos) > 1 else 0
        order = np.random.default_rng(np.random.SeedSequence([seed, c])).permutation(len(videos))
        validation = {videos[i] for i in order[:held]}
        entries += [(custom_key(label, v), label, "validation" if v in validation else "training") for v in videos]
    return labels, entries


def write_custom_json(jpg_dir, dst, train_list=None, test_list=None, val_ratio=None, seed=0):
    """One annotation JSON for a folder-per-class frame tree; prints what it holds; 1 if listed videos lack frames."""
    if (train_list is None) != (test_list is None) or (train_list is None) == (val_ratio is None):
        raise ValueError("give either --train_list and --test_list, or --val_ratio")
    if not Path(jpg_dir).is_dir():
        raise FileNotFoundError(f"{jpg_dir}: no such folder (the rgb frame folders from generate_rgb_jpgs)")
    lists = [("--train_list", train_list), ("--test_list", test_list)] if train_list is not None else []
    refuse_overlap([("JPG_DIR", jpg_dir), *lists], [("DST", dst)])
    if train_list is not None:
        labels, entries = list_split(train_list, test_list)
        check_subsets(entries, f"--train_list {train_list} / --test_list {test_list}")
    else:
        labels, entries = ratio_split(jpg_dir, val_ratio, seed)
        check_subsets(entries, f"JPG_DIR {jpg_dir}",
                      "it should hold frame folders <class>/<video>/ from generate_rgb_jpgs.py, not the videos"
                      if not entries else "a validation share needs a class with 2 or more videos")
    database, missing = build_database(entries, jpg_dir)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(dst, json.dumps({"labels": labels, "database": database}))
    subsets = [v["subset"] for v in database.values()]
    print(f"{dst}: {len(labels)} labels, {subsets.count('training')} training, {subsets.count('validation')} validation")
    if missing:
        print(f"  {len(missing)} listed videos have no frames under {jpg_dir}; first: " + ", ".join(missing[:5]))
        return 1
    return 0
