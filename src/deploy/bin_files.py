"""The original's Ascend-310 file protocol, with a CPU inference step between preprocess and postprocess.

preprocess: every eval batch (validation split, centred window, centre crop, [-1, 1]) as raw float32
`<out>/data/<dataset>/<mode>/<dataset>_bs<mode>_<i>.bin` (i from 1, N,C,T,H,W; the last batch padded with
zero clips to the full batch) and the labels as `<out>/label/<dataset>/<mode>/label_bs<mode><bs>.npy`
(one array per batch, real clips only). infer: an exported MINDIR run on each .bin, the logits written as
`<result>/<stem>_0.bin` (what the 310 program writes). postprocess: accuracy of those against the labels.
"""
import re
from pathlib import Path

import numpy as np

BIN_RE = re.compile(r"_(\d+)\.bin$")


def data_dir(out, dataset, mode):
    return Path(out) / "data" / dataset / mode


def label_file(out, dataset, mode, batch_size):
    return Path(out) / "label" / dataset / mode / f"label_bs{mode}{batch_size}.npy"


def write_eval_bins(source, dataset, mode, batch_size, out):
    """Write the eval clips of a ClipDataset as batch files; returns the number of batches."""
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
            np.concatenate([data, pad]).tofile(folder / f"{dataset}_bs{mode}_{batch}.bin")
            clips = []
    per_batch = [np.array(labels[i:i + batch_size], np.int32) for i in range(0, len(labels), batch_size)]
    path = label_file(out, dataset, mode, batch_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.array(per_batch, dtype=object), allow_pickle=True)
    return batch


def numbered(folder, pattern="*.bin"):
    """Files of `folder` ordered by their trailing _<i> number."""
    files = [p for p in Path(folder).glob(pattern) if BIN_RE.search(p.name)]
    return sorted(files, key=lambda p: int(BIN_RE.search(p.name).group(1)))


def infer_bins(mindir, input_dir, result_dir):
    """Run an exported MINDIR on each batch file; returns the number of files."""
    from src.deploy.mindir_runner import load_mindir

    runner = load_mindir(mindir)
    result_dir = Path(result_dir)
    result_dir.mkdir(parents=True, exist_ok=True)
    files = numbered(input_dir)
    for path in files:
        batch = np.fromfile(path, np.float32).reshape(runner.input_shape)
        runner(batch).astype(np.float32).tofile(result_dir / f"{path.stem}_0.bin")
    return len(files)


def accuracy_lines(result_dir, label_path, dataset, mode, num_classes, batch_size):
    """Yield the original's lines: `result:{:.3f}%` per batch, then `eval result: top_1 {:.3f}%`."""
    labels = np.load(label_path, allow_pickle=True)
    correct = total = 0
    for i, batch_labels in enumerate(labels, 1):
        logits = np.fromfile(Path(result_dir) / f"{dataset}_bs{mode}_{i}_0.bin", np.float32)
        pred = logits.reshape(batch_size, num_classes)[:len(batch_labels)].argmax(axis=1)
        correct += int((pred == batch_labels).sum())
        total += len(batch_labels)
        yield f"result:{100.0 * correct / total:.3f}%"
    yield f"eval result: top_1 {100.0 * correct / max(total, 1):.3f}%"
