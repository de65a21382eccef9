"""The two networks this project builds (`--arch`), each as one record of the settings that differ.

`deepmind` (default) is DeepMind's I3D, what every public pretrained checkpoint was trained as.
`original` is the MindSpore model-zoo port's network, so that its fine-tuned checkpoints give its own
results (README, "Differences from the original"). Everything arch-specific is read from here.
"""
from dataclasses import dataclass

from src.common.errors import UserError


@dataclass(frozen=True)
class Arch:
    name: str
    bn_eps: float
    bn_momentum: float          # MindSpore's: the weight of the OLD running value
    train_gamma: bool           # BN scale trained (the original) or fixed at 1 (DeepMind's BN has none)
    head: str                   # I3DHead pooling: avg | max
    head_init: str              # new classifier's weight init: fan_in (std 1/sqrt(1024)) | fan_out (HeNormal)
    bgr: bool                   # the rgb network takes B,G,R (frames as cv2 reads them); flow is unaffected
    frozen_bn_batch_statistics: bool  # frozen layers still normalise with (and update) batch statistics


ARCHS = {
    "deepmind": Arch("deepmind", 1e-3, 0.99, False, "avg", "fan_in", False, False),
    "original": Arch("original", 1e-5, 0.1, True, "max", "fan_out", True, True),
}
NAMES = tuple(ARCHS)
DEFAULT = "deepmind"


def get(name):
    try:
        return ARCHS[name or DEFAULT]
    except KeyError:
        raise UserError(f"--arch must be one of {', '.join(NAMES)}, got {name!r}") from None


def network_kwargs(name, mode, head=None, bn_momentum=None):
    """build_i3d keyword arguments for `name` in `mode`; head / bn_momentum None take the arch's."""
    arch = get(name)
    return {"head": head or arch.head, "bn_eps": arch.bn_eps,
            "bn_momentum": arch.bn_momentum if bn_momentum is None else bn_momentum,
            "train_gamma": arch.train_gamma, "head_init": arch.head_init, "bgr_input": arch.bgr and mode == "rgb"}
