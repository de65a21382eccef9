"""A held-out part of the training split for per-epoch validation (never the test split).

Choosing a checkpoint on the test split would leak it into the result; the best checkpoint is chosen
on videos taken out of training, per class, by a seeded draw.
"""
import copy

import numpy as np


def hold_out(train_source, fraction, seed, val_duration):
    """(train ClipDataset without the held-out videos, eval-style ClipDataset of the held-out ones)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"--val_fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    by_class = {}
    for i, sample in enumerate(train_source.samples):
        by_class.setdefault(sample.label, []).append(i)
    held = set()
    for label in sorted(by_class):
        members = by_class[label]
        count = int(round(fraction * len(members)))
        if len(members) > 1:
            count = min(max(count, 1), len(members) - 1)
        else:
            count = 0
        held.update(rng.permutation(members)[:count].tolist())
    if not held:
        raise ValueError("--val_fraction leaves no video for validation (too few training videos per class)")
    train = copy.copy(train_source)
    train.samples = [s for i, s in enumerate(train_source.samples) if i not in held]
    val = copy.copy(train_source)
    val.samples = [s for i, s in enumerate(train_source.samples) if i in held]
    val.train = False
    val.sample_duration = int(val_duration)
    return train, val
