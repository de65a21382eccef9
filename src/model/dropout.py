"""Dropout whose masks are a function of the global seed alone, so a training run repeats bit for bit.

Why not nn.Dropout: MindSpore 2.10's CPU Dropout kernel times its first launches to choose how to split
the work between threads, and how far it advances its random stream depends on that split. From the 6th
call on, the masks therefore depend on how busy the machine was: with the same seed, a run on a loaded
machine gets other masks than one on an idle machine and its losses part from the 6th training step on
(measured: 1 run alone vs 2 beside busy processes, 12 calls of a (4, 1024, 2, 1, 1) mask; the same with
mindspore.set_deterministic(True)). UniformReal's CPU kernel gave the same numbers in every case, so the
mask is drawn from it: keep where uniform [0, 1) < keep_prob, scaled by 1 / keep_prob (inverted dropout,
as nn.Dropout). tests/test_dropout.py repeats the measurement.
"""
import mindspore as ms
from mindspore import nn, ops

from src.backend.mindspore_log import without_deprecation_lines

STREAM = 1  # UniformReal's second seed: with it, a global seed of 0 still gives a fixed stream


def mask_seeds():
    """(seed, seed2) for the mask stream: from ms.set_seed (train.py sets --seed); (0, 0) without a
    global seed, which lets the kernel pick a random seed, as nn.Dropout does."""
    seed = ms.get_seed()
    return (0, 0) if seed is None else (int(seed) % 2**31, STREAM)


class SeededDropout(nn.Cell):
    """Inverted dropout in training mode (identity otherwise, and for keep_prob 1)."""

    def __init__(self, keep_prob):
        super().__init__()
        if not 0.0 < keep_prob <= 1.0:
            raise ValueError(f"dropout_keep_prob must be in (0, 1], got {keep_prob}")
        self.keep_prob = float(keep_prob)
        seed, seed2 = mask_seeds()
        with without_deprecation_lines("UniformReal"):  # its substitute, mint.rand, has no CPU kernel
            self.uniform = ops.UniformReal(seed=seed, seed2=seed2)

    def construct(self, x):
        if not self.training or self.keep_prob == 1.0:
            return x
        keep = self.uniform(x.shape) < self.keep_prob
        return x * keep.astype(x.dtype) * (1.0 / self.keep_prob)
