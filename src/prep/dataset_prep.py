"""From the official downloads of HMDB51 or UCF101 to the full dataset layout, in one command.

    <out>/raw/<dataset>/                  the archives unpacked (nested archives too)
    <out>/rgb/<dataset>/jpg, annotation   frames (generate_rgb_jpgs) and split JSON (hmdb51_json/ucf101_json)
    <out>/flow/<dataset>/jpg, annotation  TV-L1 flow (convert_rgb_to_flow) and the same JSON files

Every step resumes: an unpacked archive is marked done, and the tools skip finished videos, so the
same command continues after an interruption. The archives are RAR (HMDB51 is a RAR of 51 RARs) and
ZIP; they are read with `bsdtar` (libarchive, `apt-get install libarchive-tools`), which reads both.
Folders already unpacked (by any tool) work as well: the videos and split files are found by content.
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from src.data import datasets
from src.common.atomic import exclusive_output, partial_path, refuse_overlap, write_text_atomic
from src.common.errors import UserError
from src.prep.jobs import default_jobs, format_duration, remove_partials

ARCHIVE_SUFFIXES = (".rar", ".zip")
REPO = Path(__file__).resolve().parents[2]
OPENCV_PAIRS_PER_CORE = 0.75  # OpenCV TV-L1 at 320x240 on one core (bench/bench_flow.py measures yours)


class PrepareError(UserError):
    """The download folder or the output folder cannot be used; the message says what to do."""


def extractor():
    """The command that unpacks RAR and ZIP archives here, or a PrepareError saying how to install one."""
    tool = shutil.which("bsdtar")
    if tool is None:
        raise PrepareError("unpacking the .rar archives needs bsdtar: apt-get install libarchive-tools "
                           "(or unpack them yourself and pass the unpacked folder)")
    return tool


def archives_under(folder):
    """Archives below `folder`, sorted, hidden names excluded."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in ARCHIVE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def unpack(raw_dir, work_dir, log=print):
    """Unpack every archive of raw_dir into work_dir, then every archive found inside, in place (HMDB51's
    51 class archives unpack beside each other). A done marker per archive makes a re-run skip it."""
    raw_dir, work_dir = Path(raw_dir), Path(work_dir)
    done_dir = work_dir / ".unpacked"
    done_dir.mkdir(parents=True, exist_ok=True)

    def marker(archive, base, tag):
        return done_dir / f"{tag}__{str(archive.relative_to(base)).replace('/', '__')}.done"

    for archive in archives_under(raw_dir):
        unpack_one(archive, work_dir, marker(archive, raw_dir, "download"), log)
    while True:
        nested = [a for a in archives_under(work_dir) if not marker(a, work_dir, "inner").exists()]
        if not nested:
            return
        for archive in nested:
            unpack_one(archive, archive.parent, marker(archive, work_dir, "inner"), log)


def seen_state(archive):
    """What a done marker records of its archive: size and modification time. A different archive under
    the same name (the real download copied over an interrupted one) no longer matches and is unpacked."""
    st = Path(archive).stat()
    return f"size {st.st_size} mtime_ns {st.st_mtime_ns}\n"


def unpack_one(archive, dest, marker, log=print):
    """bsdtar -xf ARCHIVE into a hidden temp folder, then its members moved into DEST, once per state of
    the archive (the marker records it). A cut archive (bsdtar fails midway) leaves no member under its
    final name: its temp folder is deleted."""
    seen = seen_state(archive)
    if marker.is_file() and marker.read_text(encoding="utf-8", errors="replace") == seen:
        return
    if archive.stat().st_size == 0:
        raise PrepareError(f"{archive}: empty file (an interrupted download?); download it again")
    log(f"unpacking {archive}", flush=True)
    final = Path(dest) / archive.name
    remove_partials(final)  # a killed run's members
    tmp = partial_path(final)
    tmp.mkdir(parents=True)
    try:
        proc = subprocess.run([extractor(), "-xf", str(archive), "-C", str(tmp)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise PrepareError(f"{archive}: cannot unpack ({proc.stderr.strip() or 'bsdtar failed'}); nothing of it "
                               "was kept: download it again")
        move_members(tmp, Path(dest))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_text_atomic(marker, seen)


def move_members(src, dest):
    """Move an unpacked tree into dest, folders merged, files replaced. A link already in dest where the
    tree has a folder is refused: moving through it would write outside dest."""
    for folder, dirs, files in os.walk(src):
        target = dest / Path(folder).relative_to(src)
        if folder != str(src) and target.is_symlink():
            raise PrepareError(f"{target}: a link where the archive has a folder; remove it and run again")
        target.mkdir(parents=True, exist_ok=True)
        for name in files + [d for d in dirs if (Path(folder) / d).is_symlink()]:
            os.replace(Path(folder) / name, target / name)


def find_video_root(folders, ext):
    """(root, {class: video count}) of the tree `<root>/<class>/<video>.<ext>` holding the most classes."""
    suffix = "." + ext.lower()
    by_root = {}
    for folder in folders:
        for video in Path(folder).rglob("*"):
            if video.suffix.lower() == suffix and video.is_file() and not video.name.startswith("."):
                classes = by_root.setdefault(video.parent.parent, {})
                classes[video.parent.name] = classes.get(video.parent.name, 0) + 1
    if not by_root:
        return None, {}
    root = max(by_root, key=lambda r: (len(by_root[r]), sum(by_root[r].values())))
    return root, by_root[root]


def find_split_dir(folders, marker):
    """The folder holding the official split files (found by `marker`), or None."""
    found = sorted({p.parent for folder in folders for p in Path(folder).rglob(marker)})
    return found[0] if found else None


def plan(spec, raw_dir, out_root):
    """What is there and what remains: (lines to print, video root, split folder)."""
    raw_dir, out_root = Path(raw_dir), Path(out_root)
    work_dir = out_root / "raw" / spec.name
    folders = [raw_dir] + ([work_dir] if work_dir.is_dir() else [])
    archives = archives_under(raw_dir)
    root, classes = find_video_root(folders, spec.video_ext)
    split_dir = find_split_dir(folders, spec.split_marker)
    lines = [f"dataset {spec.name}: {spec.num_classes} classes, {spec.videos} videos in the official release "
             f"(downloads: {', '.join(spec.downloads)} from {spec.source})"]
    lines.append(f"archives in {raw_dir}: {len(archives)}" + (f" ({', '.join(a.name for a in archives[:4])}"
                                                              f"{' ...' if len(archives) > 4 else ''})" if archives else ""))
    videos = sum(classes.values())
    lines.append(f"videos found: {videos} in {len(classes)} classes" + (f" under {root}" if root else
                                                                     " (the archives are not unpacked yet)"))
    lines.append(f"split files: {split_dir or 'not found yet (' + spec.split_marker + ')'}")
    pairs = spec.frame_pairs * (videos / spec.videos if videos else 1.0)
    cores = default_jobs()
    lines.append(f"projected: about {pairs / 1e6:.2f} M frame pairs of TV-L1 flow: {format_duration(pairs / OPENCV_PAIRS_PER_CORE / cores)}"
                 f" with OpenCV on {cores} cores (frames and JSON take minutes; docs/flow.md: GPUs)")
    steps = ["unpack the archives (bsdtar)" if archives else "no archives: using the folders as they are",
             f"frames     -> {out_root / 'rgb' / spec.name / 'jpg'}",
             f"split JSON -> {out_root / 'rgb' / spec.name / 'annotation'} ({', '.join(spec.annotation_name(s) for s in spec.splits)})",
             f"flow       -> {out_root / 'flow' / spec.name / 'jpg'}",
             f"split JSON copied -> {out_root / 'flow' / spec.name / 'annotation'}"]
    lines += [f"step {i}: {s}" for i, s in enumerate(steps, 1)]
    return lines, root, split_dir


def run_tool(script, *args):
    """Run one of the data tools as the user would, in the user's folder (relative paths mean what they meant
    on prepare_dataset's command line); its exit status (1 = some videos failed)."""
    command = [sys.executable, str(REPO / script), *map(str, args)]
    print("$ " + " ".join(command[1:]), flush=True)
    return subprocess.run(command).returncode


def copy_annotations(src_dir, dst_dir):
    """The flow tree uses the same split JSON as the rgb tree (video ids and labels are the same)."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(src_dir.glob("*.json")):
        write_text_atomic(dst_dir / path.name, path.read_text(encoding="utf-8"))


def prepare(dataset, raw_dir, out_root, n_jobs=None, size=240, flow=True, flow_args=(), dry_run=False):
    """Run (or with dry_run print) the whole preparation; 0 ok, 1 if some videos failed (listed by the tools)."""
    spec = datasets.get(dataset)
    if not spec.split_marker:
        raise PrepareError(f"prepare_dataset knows the official datasets ({', '.join(datasets.OFFICIAL)}); for your "
                           "own videos see docs/own_dataset.md")
    raw_dir, out_root = Path(raw_dir), Path(out_root)
    if not raw_dir.is_dir():
        raise PrepareError(f"RAW_DIR {raw_dir}: no such folder (put the downloads {', '.join(spec.downloads)} there)")
    refuse_overlap([("RAW_DIR", raw_dir)], [("OUT_ROOT", out_root)])
    lines, root, split_dir = plan(spec, raw_dir, out_root)
    print("\n".join(lines), flush=True)
    if dry_run:
        return 0
    start = time.time()
    work_dir = out_root / "raw" / spec.name
    if archives_under(raw_dir):
        with exclusive_output(work_dir, "prepare_dataset"):
            unpack(raw_dir, work_dir)
        lines, root, split_dir = plan(spec, raw_dir, out_root)
    if root is None:
        raise PrepareError(f"{raw_dir}: no <class>/<video>.{spec.video_ext} videos found (nor in its archives)")
    if split_dir is None:
        raise PrepareError(f"{raw_dir}: no split files ({spec.split_marker}) found; put {spec.downloads[-1]} there")
    jobs = [] if n_jobs is None else ["--n_jobs", n_jobs]
    rgb, flow_tree = out_root / "rgb" / spec.name, out_root / "flow" / spec.name
    status = [run_tool("generate_rgb_jpgs.py", root, rgb / "jpg", spec.name, "--size", size, *jobs)]
    status.append(run_tool(f"{spec.name}_json.py", split_dir, rgb / "jpg", rgb / "annotation"))
    if flow:
        status.append(run_tool("convert_rgb_to_flow.py", f"--rgb_path={rgb / 'jpg'}", f"--flow_path={flow_tree / 'jpg'}",
                               *jobs, *flow_args))
        copy_annotations(rgb / "annotation", flow_tree / "annotation")
    worst = max(status)
    print(f"prepare_dataset {spec.name}: {'done' if worst == 0 else 'finished with failures (listed above)'} "
          f"in {format_duration(time.time() - start)}; data under {out_root}")
    return 0 if worst == 0 else 1
