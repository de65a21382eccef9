"""OpenI/ModelArts runs (`--openI`): inputs copied from the job's URLs into a local cache, results back.

With `moxing` importable (the ModelArts image) the URLs are OBS paths copied with its copy_parallel;
without it they are local folders, copied the same way with shutil, so the flow runs (and is tested)
anywhere. Paths follow the original's job layout: <data_url>/<dataset>/jpg and
<data_url>/<dataset>/annotation/<split 1 json>, checkpoints under --ckpt_url.
"""
import shutil
from pathlib import Path

from src.data import datasets
from src.common.errors import UserError

CACHE = Path("cache/user-job-dir")  # relative to the working folder, as on ModelArts
REPO = Path(__file__).resolve().parents[1]


def copy_tree(src, dst):
    """Copy folder `src` into `dst` (created): moxing for OBS URLs when available, else a local copy."""
    try:
        import moxing as mox  # noqa: F401  (ModelArts only)
    except ImportError:
        if not Path(src).is_dir():
            raise UserError(f"{src}: no such folder (without moxing, OpenI URLs are local folders)") from None
        shutil.copytree(src, dst, dirs_exist_ok=True)
        return Path(dst)
    mox.file.copy_parallel(src_url=str(src), dst_url=str(dst))
    return Path(dst)


def dataset_paths(data, dataset):
    """(video_path, annotation_path) inside a copied data folder."""
    root = Path(data) / dataset
    return str(root / "jpg"), str(root / "annotation" / datasets.get(dataset).annotation_name())


def train_inputs(flags):
    """Copy the data in; returns train.py's settings that come from the job's URLs (video and annotation
    paths in the cache, the default pretrained checkpoint, the output folder copied out at the end)."""
    data = copy_tree(flags.data_url, CACHE / "inputs" / "data")
    video_path, annotation_path = dataset_paths(data, flags.dataset)
    return {"video_path": video_path, "annotation_path": annotation_path,
            "checkpoint_path": flags.checkpoint_path or str(REPO / "src" / "pretrained" / f"{flags.mode}_imagenet.ckpt"),
            "save_dir": str(CACHE / "outputs" / "model")}


def eval_inputs(flags):
    """Copy data and checkpoints in; returns eval.py's settings from the URLs: the data paths in the cache,
    --rgb_path/--flow_path taken as file names inside --ckpt_url."""
    data = copy_tree(flags.data_url, CACHE / "inputs" / "data")
    ckpts = copy_tree(flags.ckpt_url, CACHE / "inputs" / "ckpt")
    video_path, annotation_path = dataset_paths(data, flags.dataset)
    found = {flag: str(ckpts / getattr(flags, flag)) for flag in ("rgb_path", "flow_path") if getattr(flags, flag)}
    return {"video_path": video_path, "annotation_path": annotation_path, **found}


def copy_out(local, url):
    if Path(local).is_dir():
        copy_tree(local, url)


def write_eval_log(result_url, line):
    """<result_url>/log.txt holding the accuracy line (the original's OpenI result)."""
    out = CACHE / "outputs" / "result"
    out.mkdir(parents=True, exist_ok=True)
    (out / "log.txt").write_text(line + "\n")
    copy_out(out, result_url)
