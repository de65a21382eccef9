"""Test helpers for the network: re-initialised weights and small random inputs.

An untrained I3D with the default init gives nearly input-independent outputs, so a test that
compares outputs must give the network informative weights first (random, moderate scale, random BN
statistics) or it could not fail.
"""
import numpy as np
import mindspore as ms


def reinitialise(net, seed=0):
    rng = np.random.default_rng(seed)
    for p in net.get_parameters():
        shape = p.shape
        if p.name.endswith("moving_variance"):
            value = rng.uniform(0.5, 2.0, shape)
        elif p.name.endswith("moving_mean") or p.name.endswith("beta") or p.name.endswith("bias"):
            value = rng.normal(0, 0.1, shape)
        elif p.name.endswith("gamma"):
            value = np.ones(shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            value = rng.normal(0, np.sqrt(2.0 / fan_in), shape)
        p.set_data(ms.Tensor(value.astype(np.float32)))
    return net


def random_clip(shape, seed=0):
    return ms.Tensor(np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32))
