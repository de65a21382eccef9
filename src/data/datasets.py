"""The dataset registry: every tool, flag and script asks here what a dataset is.

A dataset has a name, a class count, the extension of its video files, the format of its official
split files and the names of the annotation JSON files the JSON tools write (one per split). The
shell scripts read it through `python -m src.data.datasets` so the names are spelled once.
"""
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Dataset:
    name: str
    num_classes: int         # None: as many as the annotation JSON lists (own datasets)
    video_ext: str
    split_format: str        # how the split lists are read (src/prep/annotations.py)
    annotation_pattern: str  # str.format pattern of the split number
    splits: tuple = (1, 2, 3)
    source: str = ""         # where the videos and split files are published
    split_marker: str = ""   # a file (glob) that marks the folder of the official split files
    downloads: tuple = ()    # the official archives, as published
    videos: int = 0          # videos in the official release (for dry-run projections)
    frame_pairs: int = 0     # TV-L1 frame pairs of the whole set at 25 fps (about)

    def annotation_name(self, split=None):
        """File name of the annotation JSON of `split` (default: the first split, the usual benchmark)."""
        return self.annotation_pattern.format(self.splits[0] if split is None else split)


DATASETS = {d.name: d for d in (
    Dataset("hmdb51", 51, "avi", "hmdb51", "hmdb51_{}.json",
            source="https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/",
            split_marker="*_test_split1.txt", downloads=("hmdb51_org.rar", "test_train_splits.rar"),
            videos=6766, frame_pairs=630_000),
    Dataset("ucf101", 101, "avi", "ucf101", "ucf101_{:02d}.json",
            source="https://www.crcv.ucf.edu/data/UCF101.php",
            split_marker="classInd.txt", downloads=("UCF101.rar", "UCF101TrainTestSplits-RecognitionTask.zip"),
            videos=13320, frame_pairs=2_500_000),
    # Your own videos: <root>/<class>/<video>.<ext>, split lists or a seeded ratio (tools/make_split_json.py).
    Dataset("custom", None, "mp4", "custom", "custom.json", splits=(1,)),
)}
OFFICIAL = tuple(name for name, d in DATASETS.items() if d.split_marker)
NAMES = tuple(DATASETS)


def get(name):
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(NAMES)}") from None


def main(argv):
    """`python -m src.data.datasets names` | `annotation NAME [SPLIT]` | `classes NAME` (for the shell scripts)."""
    if argv[:1] == ["names"]:
        print(" ".join(NAMES))
    elif len(argv) in (2, 3) and argv[0] == "annotation":
        print(get(argv[1]).annotation_name(int(argv[2]) if len(argv) == 3 else None))
    elif len(argv) == 2 and argv[0] == "classes":
        print(get(argv[1]).num_classes)
    else:
        print(main.__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
