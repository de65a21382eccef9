"""metrics.csv, a run's history one row per epoch: what plot_run.py draws and what a person compares.

The file is rewritten whole (atomically) after every epoch, so a reader never sees half a row, and a
resumed run keeps the rows of the epochs it continues from instead of starting a new file.
"""
import csv
import io
from pathlib import Path

from src.common.atomic import write_text_atomic
from src.common.errors import UserError

METRICS_CSV = "metrics.csv"
COLUMNS = ("epoch", "steps", "lr", "loss", "val_top1", "val_top5", "val_mean_class", "epoch_seconds", "clips_per_s")
VALIDATION_COLUMNS = ("val_top1", "val_top5", "val_mean_class")


def read_history(run_dir):
    """The rows of <run_dir>/metrics.csv as dicts of floats (None where a run did not validate)."""
    path = Path(run_dir) / METRICS_CSV
    if not path.is_file():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            lacking = [c for c in ("epoch", "loss") if c not in (reader.fieldnames or ())]
            if lacking:
                raise MetricsFileError(f"{path}: not a metrics.csv (no {', '.join(lacking)} column)")
            return [_row(path, reader.line_num, row) for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MetricsFileError(f"{path}: not a readable CSV file ({exc})") from None


class MetricsFileError(UserError, ValueError):
    """A metrics.csv that cannot be read; the message names the file and the line."""


def _row(path, line, row):
    """One row as {column: float or None}; a cell that is no number, or a row with more or fewer cells than
    the header, is an error naming the line."""
    if None in row or None in row.values():
        raise MetricsFileError(f"{path}: line {line} has {'more' if None in row else 'fewer'} cells than the header")
    try:
        values = {k: (float(v) if v != "" else None) for k, v in row.items()}
    except ValueError:
        bad = next(f"{k}={v!r}" for k, v in row.items() if v != "" and not _is_float(v))
        raise MetricsFileError(f"{path}: line {line}: {bad} is not a number") from None
    if values["epoch"] is None:
        raise MetricsFileError(f"{path}: line {line}: no epoch")
    return values


def _is_float(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


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
