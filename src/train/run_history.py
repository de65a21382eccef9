"""metrics.csv, a run's history one row per epoch: what plot_run.py draws and what a person compares.

The file is rewritten whole (atomically) after every epoch, so a reader never sees half a row, and a
resumed run keeps the rows of the epochs it continues from instead of starting a new file.
"""
import csv
import io
from pathlib import Path

from src.common.atomic import write_text_atomic

METRICS_CSV = "metrics.csv"
COLUMNS = ("epoch", "steps", "lr", "loss", "val_top1", "val_top5", "val_mean_class", "epoch_seconds", "clips_per_s")
VALIDATION_COLUMNS = ("val_top1", "val_top5", "val_mean_class")


def read_history(run_dir):
    """The rows of <run_dir>/metrics.csv as dicts of floats (None where a run did not validate)."""
    path = Path(run_dir) / METRICS_CSV
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: (float(v) if v not in ("", None) else None) for k, v in row.items()} for row in csv.DictReader(f)]


def format_row(row):
    """Floats with enough digits to read and plot; missing validation figures as empty cells."""
    cells = []
    for key in COLUMNS:
        value = row.get(key)
        if value is None:
            cells.append("")
        elif key in ("epoch", "steps"):
            cells.append(str(int(value)))
        else:
            cells.append(f"{value:.6g}")
    return cells


class MetricsHistory:
    """Appends one row per epoch to <run_dir>/metrics.csv; `start_epoch` > 0 continues a resumed run."""

    def __init__(self, run_dir, start_epoch=0):
        self.path = Path(run_dir) / METRICS_CSV
        # rows past the resumed checkpoint belong to epochs that are trained again
        self.rows = [r for r in read_history(run_dir) if r["epoch"] <= start_epoch] if start_epoch else []

    def append(self, row):
        self.rows.append(dict(row))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(format_row(r) for r in self.rows)
        write_text_atomic(self.path, out.getvalue())
