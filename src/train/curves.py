"""Loss and accuracy curves of one or more runs (their metrics.csv) on one figure."""
from pathlib import Path

from src.common.errors import UserError
from src.common.figures import pyplot, save_png
from src.train.run_history import METRICS_CSV, read_history


class RunHistoryError(UserError, FileNotFoundError):
    """A run folder without a usable metrics.csv; the message names it."""


def load_runs(run_dirs):
    """[(label, rows)] for each run folder; a folder without rows is an error naming it."""
    runs = []
    for run_dir in map(Path, run_dirs):
        rows = read_history(run_dir)
        if not rows:
            raise RunHistoryError(f"{run_dir}: no {METRICS_CSV} with rows (is it a train.py run folder?)")
        runs.append((run_dir.name or str(run_dir), rows))
    return runs


def plot_runs(runs, path, title=None):
    """Mean training loss per epoch (left) and validation top-1 / mean-class accuracy (right, when validated)."""
    plt = pyplot()
    validated = any(r["val_top1"] is not None for _, rows in runs for r in rows)
    fig, axes = plt.subplots(1, 2 if validated else 1, figsize=(11 if validated else 6, 4), squeeze=False)
    loss_ax = axes[0][0]
    for i, (label, rows) in enumerate(runs):
        color = f"C{i % 10}"
        epochs = [r["epoch"] for r in rows]
        loss_ax.plot(epochs, [r["loss"] for r in rows], "o-", color=color, label=label, markersize=3)
        if validated:
            acc_ax = axes[0][1]
            shown = [r for r in rows if r["val_top1"] is not None]
            acc_ax.plot([r["epoch"] for r in shown], [r["val_top1"] for r in shown], "o-", color=color,
                        markersize=3, label=f"{label} top-1")
            acc_ax.plot([r["epoch"] for r in shown], [r["val_mean_class"] for r in shown], "s--", color=color,
                        markersize=3, alpha=0.6, label=f"{label} mean class")
    loss_ax.set(xlabel="epoch", ylabel="mean training loss", title="training loss")
    loss_ax.grid(alpha=0.3)
    loss_ax.legend(fontsize=8)
    if validated:
        acc_ax = axes[0][1]
        acc_ax.set(xlabel="epoch", ylabel="accuracy", title="validation (held-out training videos)", ylim=(0, 1.02))
        acc_ax.grid(alpha=0.3)
        acc_ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return save_png(fig, path)
