"""Step-decay learning rate as one value per global step (no mutable state in callbacks).

The whole schedule is handed to the optimizer, which indexes it by its own global_step; that step
is saved in every checkpoint, so a resumed run continues at the right learning rate by itself.
"""
import numpy as np


def step_decay(lr, rate, every_epochs, num_epochs, steps_per_epoch, lr_min=0.0):
    """lr * rate ** floor(epoch / every_epochs), floored at lr_min; float32 array of num_epochs * steps."""
    if lr <= 0 or steps_per_epoch <= 0 or num_epochs <= 0:
        raise ValueError(f"need lr > 0, steps_per_epoch > 0, num_epochs > 0 (got {lr}, {steps_per_epoch}, {num_epochs})")
    if every_epochs <= 0:
        raise ValueError(f"--lr_de_epochs must be positive, got {every_epochs}")
    epochs = np.arange(num_epochs)
    per_epoch = np.maximum(lr * rate ** (epochs // every_epochs), lr_min)
    return np.repeat(per_epoch, steps_per_epoch).astype(np.float32)


def epoch_lr(schedule, epoch, steps_per_epoch):
    """The learning rate used in (0-based) `epoch`."""
    return float(schedule[epoch * steps_per_epoch])
