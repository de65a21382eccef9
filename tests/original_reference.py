"""An independent PyTorch forward of the original port's network, written from its checkpoint arrays.

The original: TF-SAME convolutions and max pools, BatchNorm with eps 1e-5 and a learned scale, a global
max pool over (T/8, 7, 7) (the whole map), a 1x1x1 classifier with bias, and BGR input. Kernel sizes
and channels come from the arrays; only strides and the block order are written here.
"""
import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-5
STEMS = (("Conv3d_1a_7x7", (2, 2, 2)), ("pool", (1, 3, 3), (1, 2, 2)), ("Conv3d_2b_1x1", (1, 1, 1)),
         ("Conv3d_2c_3x3", (1, 1, 1)), ("pool", (1, 3, 3), (1, 2, 2)))
BLOCKS = ("Mixed_3b", "Mixed_3c", ("pool", (3, 3, 3), (2, 2, 2)), "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e",
          "Mixed_4f", ("pool", (2, 2, 2), (2, 2, 2)), "Mixed_5b", "Mixed_5c")


def same_pad(x, kernel, stride):
    """F.pad widths (last dim first) for TensorFlow SAME: the odd extra pad at the end."""
    pads = []
    for n, k, s in zip(x.shape[2:], kernel, stride):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return [p for pair in reversed(pads) for p in pair]


def unit(x, a, conv, bn, stride=(1, 1, 1)):
    w = a[conv]
    x = F.conv3d(F.pad(x, same_pad(x, w.shape[2:], stride)), w, stride=stride)
    shape = (1, -1, 1, 1, 1)
    x = (x - a[bn + "moving_mean"].view(shape)) / torch.sqrt(a[bn + "moving_variance"].view(shape) + EPS)
    return torch.relu(x * a[bn + "gamma"].view(shape) + a[bn + "beta"].view(shape))


def maxpool(x, kernel, stride):
    return F.max_pool3d(F.pad(x, same_pad(x, kernel, stride), value=float("-inf")), kernel, stride)


def block(x, a, name):
    u = lambda part, y: unit(y, a, f"{name}_{part}.conv3d.weight", f"{name}_{part}.bn.bn2d.")  # noqa: E731
    return torch.cat([u("b0", x), u("b1b", u("b1a", x)), u("b2b", u("b2a", x)),
                      u("b3b", maxpool(x, (3, 3, 3), (1, 1, 1)))], dim=1)


def original_logits(arrays, clips_bgr):
    """arrays: {checkpoint name: ndarray} (head under either spelling); clips (N, 3, T, H, W) BGR in [-1, 1]."""
    a = {k.replace("logits.logits_conv3d", "logits_conv3d"): torch.from_numpy(np.asarray(v, np.float64))
         for k, v in arrays.items()}
    x = torch.from_numpy(np.asarray(clips_bgr, np.float64))
    for layer in STEMS + BLOCKS:
        if isinstance(layer, str):
            x = block(x, a, layer)
        elif layer[0] == "pool":
            x = maxpool(x, layer[1], layer[2])
        else:
            x = unit(x, a, f"{layer[0]}.weight", f"{layer[0]}_bn.bn2d.", layer[1])
    x = x.amax(dim=(2, 3, 4), keepdim=True)
    x = F.conv3d(x, a["logits_conv3d.weight"], a["logits_conv3d.bias"])
    return x.flatten(1).numpy()
