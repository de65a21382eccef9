"""A tiny stand-in for the official HMDB51 / UCF101 downloads, in their archive formats and layouts.

It lets the whole path (prepare_dataset.py -> train -> eval) be tried, and tested, without the real
multi-gigabyte downloads. The videos are the motion-only demo classes (src/prep/demo_data.py):

  hmdb51: hmdb51_org.rar (a RAR of one RAR per class, each holding <class>/<video>.avi) and
          test_train_splits.rar (testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt)
  ucf101: UCF101.rar (UCF-101/<Class>/v_<Class>_gGG_cCC.avi) and
          UCF101TrainTestSplits-RecognitionTask.zip (ucfTrainTestlist/classInd.txt, trainlist0N, testlist0N)

The RAR files are RAR 4 archives with stored (uncompressed) members: the format the official ones
use, without the compression that only the non-free RAR program writes.

    python -m src.prep.synthetic_download hmdb51|ucf101 OUT [--videos_per_class 6] [--n_frames 16]
"""
import argparse
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

from src.common.flag_types import bounded_int, seed_value
from src.prep.demo_data import DIRECTIONS, frame_count, make_demo_data

RAR4_MARKER = b"Rar!\x1a\x07\x00"
DOS_TIME_2020 = (40 << 25) | (1 << 21) | (1 << 16)  # 2020-01-01 00:00


def _rar_block(head_type, flags, body):
    """One RAR 4 block: CRC16 (low half of CRC32 over the rest), type, flags, size, body."""
    rest = struct.pack("<BHH", head_type, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(rest) & 0xFFFF) + rest


def write_stored_rar(path, members):
    """A RAR 4 archive of (name, bytes) members, stored without compression (method 0x30)."""
    blocks = [RAR4_MARKER, _rar_block(0x73, 0, bytes(6))]
    for name, data in members:
        encoded = name.encode("utf-8")
        header = struct.pack("<IIBIIBBHI", len(data), len(data), 3, zlib.crc32(data), DOS_TIME_2020, 20, 0x30,
                             len(encoded), 0o100644)
        blocks.append(_rar_block(0x74, 0x8000, header + encoded) + data)
    blocks.append(_rar_block(0x7B, 0x4000, b""))
    Path(path).write_bytes(b"".join(blocks))


def _files(folder):
    return sorted(p for p in Path(folder).iterdir() if p.is_file())


def make_hmdb51(out, demo):
    """hmdb51_org.rar of per-class RARs, and the split files in test_train_splits.rar."""
    with tempfile.TemporaryDirectory() as tmp:
        inner = []
        for cls in sorted(p.name for p in (demo / "videos").iterdir()):
            members = [(f"{cls}/{v.name}", v.read_bytes()) for v in _files(demo / "videos" / cls)]
            write_stored_rar(Path(tmp) / f"{cls}.rar", members)
            inner.append((f"{cls}.rar", (Path(tmp) / f"{cls}.rar").read_bytes()))
        write_stored_rar(out / "hmdb51_org.rar", inner)
    write_stored_rar(out / "test_train_splits.rar",
                     [(f"testTrainMulti_7030_splits/{p.name}", p.read_bytes()) for p in _files(demo / "splits")])


def make_ucf101(out, demo):
    """UCF101.rar with UCF101's naming, and the official list files in a ZIP."""
    classes = sorted(p.name for p in (demo / "videos").iterdir())
    names = {cls: "".join(w.capitalize() for w in cls.split("_")) for cls in classes}  # move_left -> MoveLeft
    members, lists = [], {f"{kind}list0{s}.txt": [] for kind in ("train", "test") for s in (1, 2, 3)}
    for cls in classes:
        ucf = names[cls]
        for j, video in enumerate(_files(demo / "videos" / cls)):
            ucf_name = f"v_{ucf}_g{j // 2 + 1:02d}_c{j % 2 + 1:02d}.avi"
            members.append((f"UCF-101/{ucf}/{ucf_name}", video.read_bytes()))
            for split in (1, 2, 3):  # the demo's HMDB-style ids decide train (1) or test (2)
                ids = dict(line.split() for line in (demo / "splits" / f"{cls}_test_split{split}.txt").read_text()
                           .splitlines())
                kind = "train" if ids[video.name] == "1" else "test" if ids[video.name] == "2" else None
                if kind:
                    label = f" {classes.index(cls) + 1}" if kind == "train" else ""
                    lists[f"{kind}list0{split}.txt"].append(f"{ucf}/{ucf_name}{label}\r\n")
    write_stored_rar(out / "UCF101.rar", members)
    with zipfile.ZipFile(out / "UCF101TrainTestSplits-RecognitionTask.zip", "w") as z:
        z.writestr("ucfTrainTestlist/classInd.txt", "".join(f"{i} {names[c]}\r\n" for i, c in enumerate(classes, 1)))
        for name, lines in lists.items():
            z.writestr(f"ucfTrainTestlist/{name}", "".join(lines))


def make_download(dataset, out, videos_per_class=6, n_frames=16, width=80, height=60, seed=0):
    """Write the stand-in download for `dataset` into `out`; returns the archive paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    test = max(1, videos_per_class // 3)
    with tempfile.TemporaryDirectory() as tmp:
        make_demo_data(tmp, train_per_class=videos_per_class - test, test_per_class=test, width=width, height=height,
                       n_frames=n_frames, seed=seed, classes=tuple(DIRECTIONS))
        {"hmdb51": make_hmdb51, "ucf101": make_ucf101}[dataset](out, Path(tmp))
    return sorted(out.iterdir())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", choices=("hmdb51", "ucf101"))
    p.add_argument("out", help="the archives are written here")
    p.add_argument("--videos_per_class", type=bounded_int(2, 10000, "a video count 2..10000"), default=6,
                   help="a third (at least one) goes to the test split")
    p.add_argument("--n_frames", type=frame_count, default=16)
    p.add_argument("--seed", type=seed_value, default=0)
    args = p.parse_args(argv)
    for path in make_download(args.dataset, args.out, args.videos_per_class, args.n_frames, seed=args.seed):
        print(f"{path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
