"""The original's Ascend-310 file protocol, with a CPU inference step between preprocess and postprocess.

preprocess: every eval batch (validation split, centred window, centre crop, [-1, 1]) as raw float32
`<out>/data/<dataset>/<mode>/<dataset>_bs<mode>_<i>.bin` (i from 1, N,C,T,H,W; the last batch padded with
zero clips to the full batch) and the labels as `<out>/label/<dataset>/<mode>/label_bs<mode><bs>.npy`:
one flat int32 array of the real clips' class ids, batch i being labels[(i-1)*bs : i*bs]. (The original
saved a pickled object array, one array per batch; a pickle runs code when loaded, so a label file
handed to postprocess.py is read with pickles refused.) infer: an exported MINDIR run on each .bin, the logits written as
`<result>/<stem>_0.bin` (what the 310 program writes). postprocess: accuracy of those against the labels.
"""
import re
from pathlib import Path

import numpy as np

from src.common.errors import UserError

BIN_RE = re.compile(r"_(\d+)\.bin$")


def data_dir(out, dataset, mode):
    return Path(out) / "data" / dataset / mode


def label_file(out, dataset, mode, batch_size):
    return Path(out) / "label" / dataset / mode / f"label_bs{mode}{batch_size}.npy"


def write_eval_bins(source, dataset, mode, batch_size, out):
    """Write the eval clips of a ClipDataset as batch files; returns the number of batches."""
    from src.common.atomic import atomic_output
    from src.model.network_input import as_network_input

    folder = data_dir(out, dataset, mode)
    folder.mkdir(parents=True, exist_ok=True)
    labels, clips, batch = [], [], 0
    for clip, label in list(source) + [(None, None)]:
        if clip is not None:
            clips.append(clip)
            labels.append(int(label))
        if clips and (len(clips) == batch_size or clip is None):
            batch += 1
            data = as_network_input(np.stack(clips))
            pad = np.zeros((batch_size - len(data),) + data.shape[1:], np.float32)
            with atomic_output(folder / f"{dataset}_bs{mode}_{batch}.bin") as tmp:
                np.concatenate([data, pad]).tofile(tmp)
            clips = []
    path = label_file(out, dataset, mode, batch_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, suffix=".npy") as tmp:  # np.save appends .npy to any other name
        np.save(tmp, np.array(labels, np.int32), allow_pickle=False)
    return batch


def numbered(folder, pattern="*.bin"):
    """Files of `folder` ordered by their trailing _<i> number."""
    files = [p for p in Path(folder).glob(pattern) if BIN_RE.search(p.name)]
    return sorted(files, key=lambda p: int(BIN_RE.search(p.name).group(1)))


def infer_bins(mindir, input_dir, result_dir):
    """Run an exported MINDIR on each batch file; returns the number of files."""
    from src.common.atomic import atomic_output
    from src.deploy.mindir_runner import load_mindir

    runner = load_mindir(mindir)
    result_dir = Path(result_dir)
    result_dir.mkdir(parents=True, exist_ok=True)
    files = numbered(input_dir)
    for path in files:
        batch = np.fromfile(path, np.float32)
        if batch.size != np.prod(runner.input_shape):
            raise UserError(f"{path}: holds {batch.size} values but {mindir} takes input {tuple(runner.input_shape)} "
                            "(export the model with the --batch_size, --sample_duration and --spatial_size that "
                            "preprocess.py used)")
        batch = batch.reshape(runner.input_shape)
        with atomic_output(result_dir / f"{path.stem}_0.bin") as tmp:
            runner(batch).astype(np.float32).tofile(tmp)
    return len(files)


def read_labels(label_path):
    """The flat int class ids of a label file, read with pickles refused (a pickle would run code)."""
    try:
        labels = np.load(label_path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise UserError(f"--label-path {label_path}: holds a pickle, not a plain array (older preprocess.py versions "
                            "wrote pickled label files; a pickle can run code when loaded, so it is refused): run "
                            "preprocess.py again for a plain label file") from None
        raise UserError(f"--label-path {label_path}: not a NumPy .npy file ({exc})") from None
    except OSError as exc:
        raise UserError(f"--label-path {label_path}: cannot read it ({exc.strerror or exc})") from None
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise UserError(f"--label-path {label_path}: expected a 1-D integer array of class ids, found "
                        f"{labels.dtype} {labels.shape}")
    return labels


def accuracy_lines(result_dir, label_path, dataset, mode, num_classes, batch_size):
    """Yield the original's lines: `result:{:.3f}%` per batch, then `eval result: top_1 {:.3f}%`."""
    labels = read_labels(label_path)
    correct = total = 0
    for i, start in enumerate(range(0, len(labels), batch_size), 1):
        batch_labels = labels[start:start + batch_size]
        path = Path(result_dir) / f"{dataset}_bs{mode}_{i}_0.bin"
        logits = np.fromfile(path, np.float32)
        if logits.size != batch_size * num_classes:
            raise UserError(f"{path}: holds {logits.size} values, not --batch-size {batch_size} x --num-classes "
                            f"{num_classes}; give the values preprocess.py and the exported model used")
        pred = logits.reshape(batch_size, num_classes)[:len(batch_labels)].argmax(axis=1)
        correct += int((pred == batch_labels).sum())
        total += len(batch_labels)
        yield f"result:{100.0 * correct / total:.3f}%"
    yield f"eval result: top_1 {100.0 * correct / max(total, 1):.3f}%"
