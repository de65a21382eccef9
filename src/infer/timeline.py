"""Per-window predictions of a long video as a table (CSV) and a picture a person reads at a glance (PNG).

A row per window: its frames (1-based, inclusive), its time span, then the top-k classes with their
softmax probabilities (the joint scores with two streams). The picture puts time on x, the scores of
the classes that lead somewhere as lines, and over them a band coloured by the top-1 class of each
stretch, labelled where it is wide enough to read.
"""
import csv
import io
from dataclasses import dataclass

import numpy as np

from src.common.atomic import write_text_atomic
from src.common.figures import pyplot, save_png


def softmax_rows(logits):
    """Row-wise softmax in float64 (probabilities per window)."""
    logits = np.asarray(logits, np.float64)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def class_name(labels, index):
    return labels[index] if labels else f"class {index}"


@dataclass(frozen=True)
class Timeline:
    """Windows (start, end frame, 1-based inclusive), their probabilities (windows, classes), the frame rate."""

    starts: np.ndarray
    ends: np.ndarray
    probs: np.ndarray
    fps: float
    labels: tuple = None

    @classmethod
    def of(cls, windows, logits, fps, labels=None):
        """From [(start, end)] and logits (windows, classes)."""
        spans = np.asarray(windows, np.int64).reshape(-1, 2)
        return cls(spans[:, 0], spans[:, 1], softmax_rows(logits), fps, labels)

    def seconds(self, frame):
        """The time at which 1-based frame `frame` starts."""
        return (np.asarray(frame) - 1) / self.fps

    @property
    def top1(self):
        return self.probs.argmax(axis=1)

    def rows(self, top_k):
        """The CSV rows (header first)."""
        k = min(top_k, self.probs.shape[1])
        header = ["window", "start_frame", "end_frame", "start_s", "end_s", "top1", "top1_score"]
        for rank in range(2, k + 1):
            header += [f"top{rank}", f"top{rank}_score"]
        rows = [header]
        for i, (start, end, p) in enumerate(zip(self.starts, self.ends, self.probs)):
            row = [i, int(start), int(end), f"{self.seconds(start):.3f}", f"{self.seconds(end + 1):.3f}"]
            for c in np.argsort(-p, kind="stable")[:k]:
                row += [class_name(self.labels, c), f"{p[c]:.6f}"]
            rows.append(row)
        return rows

    def frame_window(self, n_frames):
        """For every frame 1..n, the index of the window whose centre is nearest (ties: the earlier one), so
        that each frame of an annotated video shows the window that best stands for it."""
        centres = (self.starts + self.ends) / 2.0
        frames = np.arange(1, n_frames + 1)
        return np.abs(frames[:, None] - centres[None, :]).argmin(axis=1)


def write_csv(timeline, path, top_k):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(timeline.rows(top_k))
    write_text_atomic(path, out.getvalue())


def stretches(labels_per_window):
    """[(first, last, label)] runs of equal consecutive values."""
    runs, first = [], 0
    for i in range(1, len(labels_per_window) + 1):
        if i == len(labels_per_window) or labels_per_window[i] != labels_per_window[first]:
            runs.append((first, i - 1, labels_per_window[first]))
            first = i
    return runs


def draw(timeline, path, title="", max_lines=6):
    """The timeline picture: top-1 band over the score lines of the classes that lead (or score highest)."""
    plt = pyplot()
    top1 = timeline.top1
    leaders = list(dict.fromkeys(top1[np.argsort(-timeline.probs.max(axis=1), kind="stable")]))
    others = [c for c in np.argsort(-timeline.probs.max(axis=0)) if c not in leaders]
    shown = (leaders + others)[:max(max_lines, 1)]
    colours = {c: plt.cm.tab10(i % 10) for i, c in enumerate(shown)}
    centres = timeline.seconds((timeline.starts + timeline.ends + 1) / 2.0)
    lo, hi = timeline.seconds(timeline.starts.min()), timeline.seconds(timeline.ends.max() + 1)
    fig, (band, ax) = plt.subplots(2, 1, figsize=(10, 4.2), sharex=True, gridspec_kw={"height_ratios": [1, 5]})
    for first, last, c in stretches(list(top1)):
        # a stretch runs from midway to the previous window's centre to midway to the next one's
        left = lo if first == 0 else (centres[first - 1] + centres[first]) / 2
        right = hi if last == len(top1) - 1 else (centres[last] + centres[last + 1]) / 2
        band.axvspan(left, right, color=colours.get(c, "lightgrey"), alpha=0.85)
        name = class_name(timeline.labels, c)
        if right - left > (hi - lo) * 0.06:
            band.text((left + right) / 2, 0.5, name, ha="center", va="center", fontsize=8, clip_on=True)
    band.set_yticks([])
    band.set_ylabel("top-1", rotation=0, ha="right", va="center")
    for c in shown:
        ax.plot(centres, timeline.probs[:, c], color=colours[c], marker="." if len(centres) < 60 else None,
                label=class_name(timeline.labels, c))
    ax.set_ylim(0, 1.02)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    if title:
        band.set_title(title, fontsize=9)
    return save_png(fig, path, dpi=110)
