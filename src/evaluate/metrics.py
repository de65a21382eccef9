"""Accuracy figures (top-1, top-5, mean per-class, confusion) and late fusion of two streams.

accuracy = correct / videos, every video counted once.
"""
import numpy as np


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
