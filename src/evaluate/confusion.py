"""The confusion matrix in forms people read: a CSV with class names, a picture that stays legible from 4
to 101 classes, and the most confused pairs (rows are always the truth, columns the prediction)."""
import csv
import io
from pathlib import Path

import numpy as np

from src.common.atomic import write_text_atomic
from src.common.figures import pyplot, save_png

CELL_INCHES = 0.2  # one class row/column; the figure grows with the class count


def write_confusion_csv(path, confusion, class_names):
    """Counts with a header row and a first column of class names (truth down, prediction across)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["truth \\ predicted", *class_names])
    for name, row in zip(class_names, confusion):
        writer.writerow([name, *(int(v) for v in row)])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, out.getvalue())


def read_confusion_csv(path):
    """(class names, counts (N, N) int64) from write_confusion_csv's file."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0][1:], np.array([[int(v) for v in row[1:]] for row in rows[1:]], np.int64)


def most_confused(confusion, class_names, k=10):
    """The k largest off-diagonal counts as [{"truth", "predicted", "count"}], largest first (ties by name order)."""
    off = np.array(confusion, np.int64, copy=True)
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:k]
    pairs = []
    for flat in order:
        truth, pred = divmod(int(flat), off.shape[1])
        if off[truth, pred] == 0:
            break
        pairs.append({"truth": class_names[truth], "predicted": class_names[pred], "count": int(off[truth, pred])})
    return pairs


def confusion_png(confusion, class_names, path, title):
    """Row-normalised matrix (each truth row sums to 1) with class-name ticks, counts in the cells when there
    is room, and a colour bar; the figure size and the label font follow the class count."""
    plt = pyplot()
    confusion = np.asarray(confusion)
    n = len(class_names)
    norm = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    side = max(4.0, n * CELL_INCHES)
    font = 9 if n <= 20 else 7 if n <= 60 else 6
    fig, ax = plt.subplots(figsize=(side + 1.5, side))
    image = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    ticks = np.arange(n)
    ax.set_xticks(ticks, labels=class_names, rotation=90, fontsize=font)
    ax.set_yticks(ticks, labels=class_names, fontsize=font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth")
    ax.set_title(title, fontsize=10)
    if n <= 30:  # counts readable in the cells
        for (i, j), count in np.ndenumerate(confusion):
            if count:
                ax.text(j, i, str(int(count)), ha="center", va="center", fontsize=font - 1,
                        color="white" if norm[i, j] > 0.5 else "black")
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, shrink=min(1.0, 10 / side))
    bar.set_label("fraction of the truth row")
    return save_png(fig, path)
