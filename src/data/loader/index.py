"""Build the list of videos a loader draws clips from: annotation JSON + frame tree -> samples.

Every inconsistency is an error that names the file, found once while the index is built rather
than in a worker process halfway through an epoch.
"""
import json
from dataclasses import dataclass
from pathlib import Path

from src.data import layout
from src.common.errors import UserError, VideoReadError
from src.data.layout import mode_channels
from src.data.loader.spatial_transforms import check_fits
from src.data.media import image_size

SUBSETS = ("training", "validation")
# The names annotation files use for the two subsets. The original's 'validation' is the official TEST
# split (HMDB51 id 2, UCF101 testlist0N), so test/testing mean validation here; there is no third subset.
SUBSET_ALIASES = {"training": "training", "train": "training",
                  "validation": "validation", "val": "validation", "testing": "validation", "test": "validation"}


def canonical_subset(name, where="--subset"):
    """'training' or 'validation' for a known name or alias; anything else is an error naming `where`."""
    canonical = SUBSET_ALIASES.get(name.strip().lower()) if isinstance(name, str) else None
    if canonical is None:
        raise DatasetIndexError(f"{where}: unknown subset {name!r} (known: {', '.join(SUBSET_ALIASES)}; "
                                "test/testing are the validation subset, as in the original)")
    return canonical


class DatasetIndexError(UserError, ValueError):
    """The annotation file or the frame tree disagree with each other; the message names the file."""


@dataclass(frozen=True)
class Sample:
    """One video: where its frames are, its id (the JSON key), its class id and its frame count."""

    video_dir: str
    video_id: str
    label: int
    n_frames: int


def read_n_frames(video_dir):
    """The frame count in `<video_dir>/n_frames`, which must be positive for a clip to be drawn."""
    try:
        n = layout.read_n_frames(video_dir)
    except VideoReadError as exc:
        raise DatasetIndexError(str(exc)) from None
    if n <= 0:
        raise DatasetIndexError(f"{Path(video_dir) / layout.N_FRAMES}: frame count must be positive, found {n}")
    return n


def check_frames(video_dir, n_frames, channels, mode):
    """Every frame 1..n_frames of every channel must be there (one directory listing per video): a gap
    would otherwise surface as a failed read inside a data worker halfway through an epoch."""
    present = layout.frame_numbers(video_dir)
    gaps = [(gap, channel) for channel in channels if (gap := layout.first_missing(present[channel], n_frames))]
    if gaps:
        gap, channel = min(gaps)
        name = layout.frame_path(video_dir, gap, channel)
        raise DatasetIndexError(f"{name}: missing, but {Path(video_dir) / layout.N_FRAMES} "
                                f"says {n_frames} frames (incomplete extraction, or {'an' if mode == 'rgb' else 'a'} {mode} clip in the "
                                "wrong tree?)")
    empty = layout.empty_frames(video_dir)
    if empty:
        raise DatasetIndexError(f"{empty[0]}: empty file (0 bytes; {len(empty)} such frames in this folder): extract "
                                "this video again")


def check_crop_fits(video_dir, crop, channels):
    """The video's first frame must hold the crop: frames smaller than it would only fail inside the network
    (MindSpore's traceback) after the model is loaded and the run has started."""
    first = layout.frame_path(video_dir, 1, channels[0])
    check_fits(*image_size(first), crop, first, "--spatial_size")


def load_annotation(annotation_path):
    """Parse the annotation JSON and check its top-level schema; returns (labels, database)."""
    path = Path(annotation_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetIndexError(f"{path}: annotation file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetIndexError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    except ValueError as exc:  # malformed JSON, or an integer beyond Python's 4300-digit limit
        raise DatasetIndexError(f"{path}: not valid JSON ({str(exc)[:200]})") from None
    except RecursionError:
        raise DatasetIndexError(f"{path}: not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict) or "labels" not in data or "database" not in data:
        raise DatasetIndexError(f"{path}: expected an object with 'labels' and 'database'")
    labels, database = data["labels"], data["database"]
    if not isinstance(labels, list) or not all(isinstance(name, str) for name in labels):
        raise DatasetIndexError(f"{path}: 'labels' must be a list of class names")
    if not isinstance(database, dict) or not all(isinstance(entry, dict) for entry in database.values()):
        raise DatasetIndexError(f"{path}: 'database' must map video ids to objects with 'subset' and 'annotations'")
    return labels, database


def build_index(video_path, annotation_path, subset, mode, crop=None):
    """Samples of `subset` ('training' or 'validation') in JSON order, checked against the frame tree.

    Returns (samples, labels). The video of key K with label L is `<video_path>/<L>/<K>/`; it must
    hold `n_frames` and every frame it announces, and (crop given) frames that hold the square crop.
    """
    subset = canonical_subset(subset)
    channels = mode_channels(mode)
    labels, database = load_annotation(annotation_path)
    label_ids = {name: i for i, name in enumerate(labels)}
    root = Path(video_path)
    samples = []
    for key, entry in database.items():
        if canonical_subset(entry.get("subset"), f"{annotation_path}: entry {key!r}") != subset:
            continue
        try:
            label_name = entry["annotations"]["label"]
        except (KeyError, TypeError):
            raise DatasetIndexError(f"{annotation_path}: entry {key!r} has no annotations.label") from None
        if not isinstance(label_name, str) or label_name not in label_ids:
            raise DatasetIndexError(f"{annotation_path}: entry {key!r} has label {label_name!r}, "
                                    f"which is not in 'labels'")
        video_dir = layout.video_folder(root, label_name, key)
        if not video_dir.is_dir():
            raise DatasetIndexError(f"{video_dir}: video folder missing (listed in {annotation_path})")
        n_frames = read_n_frames(video_dir)
        check_frames(video_dir, n_frames, channels, mode)
        if crop:
            check_crop_fits(video_dir, crop, channels)
        samples.append(Sample(str(video_dir), key, label_ids[label_name], n_frames))
    if not samples:
        raise DatasetIndexError(f"{annotation_path}: no videos with subset {subset!r} (--subset selects nothing)")
    return samples, labels
