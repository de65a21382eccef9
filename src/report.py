"""Evaluation report files: per-video predictions (CSV, JSON) and the confusion-matrix picture."""
import csv
import json
from pathlib import Path

import cv2
import numpy as np


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


def confusion_png(confusion, class_names, path, title):
    """A confusion-matrix picture (rows = truth, columns = prediction, row-normalised)."""
    n = len(class_names)
    cell = max(6, min(40, 800 // max(n, 1)))
    margin = 8 * max(len(c) for c in class_names) // (1 if n <= 20 else 2) + 20 if n <= 60 else 20
    size = n * cell
    img = np.full((size + 70, max(size + margin + 20, 360), 3), 255, np.uint8)
    norm = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    heat = cv2.applyColorMap((255 * (1 - norm)).astype(np.uint8), cv2.COLORMAP_BONE)
    heat = cv2.resize(heat, (size, size), interpolation=cv2.INTER_NEAREST)
    y0, x0 = 40, margin
    img[y0:y0 + size, x0:x0 + size] = heat
    cv2.putText(img, title, (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "rows: truth, columns: prediction (same order)", (10, y0 + size + 20),
                cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    if n <= 60:
        scale = min(0.4, cell / 30)
        for i, name in enumerate(class_names):
            cv2.putText(img, name[:20], (4, y0 + i * cell + cell // 2 + 4), cv2.FONT_HERSHEY_SIMPLEX, scale,
                        (0, 0, 0), 1, cv2.LINE_AA)
            if cell >= 20:
                cv2.putText(img, str(int(confusion[i, i])), (x0 + i * cell + 3, y0 + i * cell + cell // 2 + 4),
                            cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 255), 1, cv2.LINE_AA)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)
