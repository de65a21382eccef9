"""Evaluation: logits for every video (in order, each once), accuracy figures, and report files.

Deterministic and complete: centred window (or the whole video), centre crop, no shuffle, the partial
last batch kept, accuracy = correct / videos (the original drew random windows and dropped the
last partial batch; original_spec.md section 9, bug 7).
"""
import csv
import json
from pathlib import Path

import cv2
import numpy as np

from .loader.mindspore_dataset import eval_video_ids, to_mindspore


def network_forward(net):
    """numpy clips (N, C, T, H, W) -> numpy logits through a MindSpore network in eval mode, after the
    network input step (uint8 clips scaled, float clips checked)."""
    import mindspore as ms

    from .network_input import as_network_input

    net.set_train(False)
    return lambda clips: net(ms.Tensor(as_network_input(clips))).asnumpy()


def predict_logits(forward, source, batch_size=8, num_workers=1, progress_every=0, label=""):
    """(video ids, logits (N, C) float32, labels (N,)) in the source's index order.

    forward: numpy clips -> numpy logits (network_forward(net), or an exported MINDIR's runner).
    """
    import time

    ids, logits, labels = [], [], []
    start = time.time()
    if source.sample_duration == 0:  # whole video: clip lengths differ, one video at a time
        batches = ((clip[None], np.array([label_])) for clip, label_ in source)
        ids = list(source.video_ids)
    else:
        dataset = to_mindspore(source, batch_size, num_workers=num_workers)
        batches = dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)
        ids = eval_video_ids(source)
    done = 0
    for clips, targets in batches:
        logits.append(np.asarray(forward(clips)))
        labels.append(np.asarray(targets).reshape(-1))
        done += len(labels[-1])
        if progress_every and (done // batch_size) % progress_every == 0:
            rate = done / max(time.time() - start, 1e-9)
            eta = (len(source) - done) / max(rate, 1e-9)
            print(f"{label}evaluated {done}/{len(source)} videos ({rate:.2f} videos/s, ETA {eta:.0f} s)", flush=True)
    logits = np.concatenate(logits).astype(np.float32)
    labels = np.concatenate(labels).astype(np.int64)
    if len(ids) != len(logits):
        raise RuntimeError(f"evaluated {len(logits)} clips for {len(ids)} videos")
    return ids, logits, labels


def accuracy_figures(logits, labels, num_classes):
    """top-1, top-5 and mean per-class accuracy, and the confusion matrix (rows = truth)."""
    pred = logits.argmax(axis=1)
    k = min(5, logits.shape[1])
    top5 = np.argsort(-logits, axis=1)[:, :k]
    confusion = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(confusion, (labels, pred), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    present = confusion.sum(axis=1) > 0
    return {"top1": float((pred == labels).mean()), "top5": float((top5 == labels[:, None]).any(axis=1).mean()),
            "mean_class_accuracy": float(per_class[present].mean()), "videos": int(len(labels)),
            "confusion": confusion}


def fuse(rgb, flow):
    """Late fusion of two (ids, logits, labels): pair by video id, sum the raw logits."""
    rgb_ids, rgb_logits, rgb_labels = rgb
    flow_ids, flow_logits, flow_labels = flow
    if set(rgb_ids) != set(flow_ids):
        only_rgb = sorted(set(rgb_ids) - set(flow_ids))
        only_flow = sorted(set(flow_ids) - set(rgb_ids))
        raise ValueError(f"joint: rgb and flow sets differ: {len(only_rgb)} videos only in rgb {only_rgb[:5]}, "
                         f"{len(only_flow)} only in flow {only_flow[:5]}")
    where = {vid: i for i, vid in enumerate(flow_ids)}
    order = np.array([where[vid] for vid in rgb_ids])
    if not np.array_equal(flow_labels[order], rgb_labels):
        raise ValueError("joint: the rgb and flow annotations give different labels for the same videos")
    return rgb_ids, rgb_logits + flow_logits[order], rgb_labels


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
