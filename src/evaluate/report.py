"""Evaluation report files: per-video predictions (CSV, JSON) and the confusion matrix (CSV, PNG)."""
import csv
import json
from pathlib import Path

import numpy as np

from src.evaluate.confusion import confusion_png, write_confusion_csv


def write_predictions(out_dir, name, ids, logits, labels, class_names):
    """<name>_predictions.csv and .json: per video the truth, the prediction, top-5 and the logits."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for vid, row, truth in zip(ids, logits, labels):
        top5 = np.argsort(-row)[:5]
        rows.append({"video_id": vid, "label": class_names[truth], "prediction": class_names[top5[0]],
                     "correct": bool(top5[0] == truth), "top5": [class_names[i] for i in top5],
                     "logits": [round(float(v), 5) for v in row]})
    with open(out_dir / f"{name}_predictions.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["video_id", "label", "prediction", "correct", "top5"])
        for r in rows:
            writer.writerow([r["video_id"], r["label"], r["prediction"], int(r["correct"]), "|".join(r["top5"])])
    with open(out_dir / f"{name}_predictions.json", "w", encoding="utf-8") as f:
        json.dump({"classes": list(class_names), "videos": rows}, f, indent=1)


def write_confusion(out_dir, name, confusion, class_names, title):
    """<name>_confusion.csv (counts) and <name>_confusion.png (row-normalised picture)."""
    out_dir = Path(out_dir)
    write_confusion_csv(out_dir / f"{name}_confusion.csv", confusion, class_names)
    confusion_png(confusion, class_names, out_dir / f"{name}_confusion.png", title)
