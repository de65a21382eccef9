"""TF-SAME 3-D max pooling whose CPU backward skips MindSpore's MaxPool3DGrad.

Why: on CPU, MaxPool3DGrad re-runs the pooling through oneDNN's `simple_nchw` forward_training (for
the argmax workspace), 10-40x slower than the inference forward: in a 1x3x16x224x224 I3D train step
the 13 pool gradients took 0.47 s of 1.53 s (ONEDNN_VERBOSE; docs/benchmarks.md). The forward here is
the same nn.MaxPool3d (bit-identical output); the backward is a small C++ kernel
(src/backend/kernels/max_pool3d_grad.cc, run through ops.Custom "aot") that sends each output's gradient to
the first maximum of its window, the element oneDNN's argmax picks, so gradients equal MaxPool3DGrad's.
The kernel is built and checked by src/backend/cpu_kernels.py; where it is unavailable, or on GPU/Ascend,
plain nn.MaxPool3d is used.
"""
import mindspore as ms
import numpy as np
from mindspore import nn, ops

from src.backend.cpu_kernels import cpu_threads, kernel_library, on_cpu

KERNEL_FUNCTION = "MaxPool3dGrad"


def build_kernel():
    """Path of the checked gradient kernel, or None where MaxPool3DGrad must run (src/backend/cpu_kernels.py)."""
    return kernel_library("max_pool")


def like_input(x, *_):
    """The gradient's shape/dtype is the pool input's (a def, not a lambda: GRAPH mode parses its source)."""
    return x


class MaxPool3dSame(nn.Cell):
    """nn.MaxPool3d(kernel, stride, pad_mode='same') forward; backward by the C++ kernel (CPU only)."""

    def __init__(self, kernel_size, stride, library):
        super().__init__()
        self.pool = nn.MaxPool3d(kernel_size, stride, pad_mode="same")
        # kernel, stride, and MindSpore's CPU thread count (the kernel splits the N*C planes over threads)
        self.window = ms.Tensor(np.array(tuple(kernel_size) + tuple(stride) + (cpu_threads(),), np.int64))
        self.grad_op = ops.Custom(f"{library}:{KERNEL_FUNCTION}", out_shape=like_input, out_dtype=like_input,
                                  func_type="aot")

    def construct(self, x):
        return self.pool(x)

    def bprop(self, x, out, dout):
        return (self.grad_op(x, out, dout, self.window),)


def max_pool_3d(kernel_size, stride):
    """The network's TF-SAME max pool: MaxPool3dSame where its CPU kernel is usable, else nn.MaxPool3d."""
    library = build_kernel() if on_cpu() else None
    if library is None:
        return nn.MaxPool3d(kernel_size, stride, pad_mode="same")
    return MaxPool3dSame(kernel_size, stride, library)
