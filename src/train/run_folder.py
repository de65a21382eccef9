"""The run folder: config.json, checkpoints/ with i3d-<epoch>_<steps>.ckpt, shards/ (distributed), finding where to resume.

`python -m src.train.run_folder latest RUN_DIR` prints the newest epoch checkpoint (for shell scripts).
"""
import json
import sys
import time
from pathlib import Path

from src.common.atomic import write_text_atomic
from src.checkpoints.checkpoint import CHECKPOINTS, checkpoint_name, epoch_checkpoints, labels_path


def default_run_dir(save_dir, dataset, mode, device_id, distributed):
    if distributed:  # one folder per rank, as the original
        return Path(save_dir) / f"{dataset}_{mode}_device{device_id}"
    return Path(save_dir) / f"{time.strftime('%Y%m%d_%H%M')}_{dataset}_{mode}_device{device_id}"


def holds_a_run(run_dir):
    """True when the folder holds anything of a run (hidden files and an empty checkpoints/ do not count)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return False
    for entry in run_dir.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.name == CHECKPOINTS and entry.is_dir() and not any(entry.iterdir()):
            continue
        return True
    return False


def prepare(run_dir, overwrite):
    """Create the run folder with parents; one that already holds a run is an error unless --overwrite."""
    run_dir = Path(run_dir)
    if holds_a_run(run_dir) and not overwrite:
        raise FileExistsError(f"run folder {run_dir} exists and is not empty: pass --resume to continue it, "
                              "--overwrite to write into it anyway, or another --run_dir")
    (run_dir / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
    return run_dir


def find_resume_dir(resume, save_dir, dataset, mode, device_id):
    """--resume PATH, or the newest run folder of this dataset/mode/device under save_dir."""
    if resume != "latest":
        path = Path(resume)
        if not path.is_dir():
            raise FileNotFoundError(f"--resume {path}: no such run folder")
        return path
    suffix = f"_{dataset}_{mode}_device{device_id}"
    runs = sorted(p for p in Path(save_dir).glob(f"*{suffix}") if p.is_dir() and epoch_checkpoints(p))
    if not runs:
        raise FileNotFoundError(f"--resume: no run folder *{suffix} with checkpoints under {save_dir}")
    return runs[-1]


LABELS = "labels.txt"


def write_labels(run_dir, labels):
    """labels.txt: the class names in class-id order, one per line (predict.py reads it)."""
    write_text_atomic(Path(run_dir) / LABELS, "".join(f"{name}\n" for name in labels))


def labels_beside(checkpoint):
    """The class names file of a model: <name>.labels.txt beside an exported model (labels_path), or the
    labels.txt of the run folder a checkpoint belongs to (<run>/checkpoints/i3d-*.ckpt or <run>/best.ckpt,
    a run folder being one with config.json), or None."""
    checkpoint = Path(checkpoint)
    if labels_path(checkpoint).is_file():
        return labels_path(checkpoint)
    for folder in (checkpoint.parent, checkpoint.parent.parent):
        if (folder / LABELS).is_file() and (folder / "config.json").is_file():
            return folder / LABELS
    return None


def write_config(run_dir, config):
    write_text_atomic(Path(run_dir) / "config.json", json.dumps(config, indent=4, sort_keys=True))


def print_config(config):
    print("#" * 60)
    print("Training configuration:")
    for key in sorted(config):
        print("  {:>20} {}".format(key, config[key]))
    print("#" * 60, flush=True)


class ShardRecord:
    """Writes shards/epoch<E>.txt, the video ids this rank's sampler hands out in epoch E (1-based).

    Distributed runs keep it so that the split of the data between ranks can be checked afterwards.
    The pipeline may start the pass after the last epoch early; `num_epochs` keeps that one out.
    A plain class (not a closure) so the sampler holding it stays picklable.
    """

    def __init__(self, run_dir, video_ids, num_epochs):
        self.folder = Path(run_dir) / "shards"
        self.video_ids = list(video_ids)
        self.num_epochs = num_epochs

    def __call__(self, epoch, indices):
        if epoch >= self.num_epochs:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.folder / f"epoch{epoch + 1}.txt", "".join(f"{self.video_ids[i]}\n" for i in indices))


def read_shard(run_dir, epoch):
    """The video ids a distributed rank trained on in `epoch` (1-based), in order."""
    return (Path(run_dir) / "shards" / f"epoch{epoch}.txt").read_text().split()


def main(argv):
    if len(argv) == 2 and argv[0] == "latest":
        found = epoch_checkpoints(argv[1])
        if not found:
            print(f"error: no {checkpoint_name('<epoch>', '<steps>')} in {Path(argv[1]) / CHECKPOINTS}", file=sys.stderr)
            return 2
        print(found[-1][2])
        return 0
    print("usage: python -m src.train.run_folder latest RUN_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
