"""TF-SAME 3-D convolution whose CPU forward and backward run oneDNN's direct kernels.

Why: MindSpore's CPU Conv3D hands oneDNN plain NCDHW tensors, which leaves oneDNN only its
im2col+gemm implementation; oneDNN's direct jit kernels want blocked layouts (8 channels per block on
AVX2, 16 on AVX-512). In a 1x3x16x224x224 I3D train step the 58 convolutions' three passes took 0.89 s
of about 1.1 s (AVX2; ONEDNN_VERBOSE; docs/benchmarks.md). Conv3dSame is an nn.Conv3d (same `weight` parameter, same
checkpoint names, same initialisation) whose construct calls a C++ kernel
(src/backend/kernels/conv3d_onednn.cc, ops.Custom "aot") that lets MindSpore's own oneDNN library pick the
layouts, reordering from and to NCDHW around the convolution, for the forward, the input gradient and
the weight gradient. Results equal nn.Conv3d's to float rounding (within 1e-5 of the largest value; tests/test_conv3d.py).
Where the kernel is unavailable (no compiler, a oneDNN library it was not checked against, a failed
self-check: src/backend/cpu_kernels.py), or off the CPU, conv3d_same gives a plain nn.Conv3d; export switches the
kernel off (portable_convolutions), since a MindIR/ONNX file cannot carry it. Building the kernel is
runtime.configure's explicit step; a network built without it builds the kernel on first use (one line).
"""
import os

import mindspore as ms
import numpy as np
from mindspore import nn, ops

from src.backend.cpu_kernels import cpu_threads, kernel_library, on_cpu, warn_once
from src.backend.runtime import ONEDNN_ISA_VALUE, ONEDNN_ISA_VAR


def build_conv_kernel():
    """Path of the checked convolution kernel, or None where MindSpore's Conv3D must run (src/backend/cpu_kernels.py)."""
    library = kernel_library("conv3d")
    if library is None and os.environ.get(ONEDNN_ISA_VAR) is None:
        warn_once(f"MindSpore's Conv3D can be 25-140x slower on CPUs with AVX-512 unless {ONEDNN_ISA_VAR}="
                  f"{ONEDNN_ISA_VALUE} is set before its first operation (src.backend.runtime.configure does so where the "
                  "kernel is unavailable): set it before starting if this run is slow (docs/cpu_kernels.md)")
    return library


def input_like(x, *_):
    """Shape/dtype of the input gradient: the input's (a def, not a lambda: GRAPH mode parses its source)."""
    return x


def weight_like(x, w, *_):
    return w


class Conv3dKernel(nn.Cell):
    """(x, w) -> TF-SAME conv3d(x, w), with its own backward; no parameters, so the weight's gradient
    reaches the owning Conv3dSame's `weight` the ordinary way."""

    def __init__(self, stride, library):
        super().__init__()
        stride = tuple(int(s) for s in stride)
        self.cfg = ms.Tensor(np.array(stride + (cpu_threads(),), np.int64))

        def output_like(x, w, _cfg):
            return [x[0], w[0]] + [-(-n // s) for n, s in zip(x[2:], stride)]  # TF SAME: ceil(n / s)

        self.forward_op = ops.Custom(f"{library}:Conv3dForward", out_shape=output_like, out_dtype=input_like,
                                     func_type="aot")
        self.input_grad_op = ops.Custom(f"{library}:Conv3dBackwardData", out_shape=input_like,
                                        out_dtype=input_like, func_type="aot")
        self.weight_grad_op = ops.Custom(f"{library}:Conv3dBackwardWeights", out_shape=weight_like,
                                         out_dtype=weight_like, func_type="aot")

    def construct(self, x, w):
        return self.forward_op(x, w, self.cfg)

    def bprop(self, x, w, out, dout):
        # Two ops, so that an unused gradient (the network input's, a frozen layer's weight's) is pruned.
        return self.input_grad_op(x, w, dout, self.cfg), self.weight_grad_op(x, w, dout, self.cfg)


class Conv3dSame(nn.Conv3d):
    """nn.Conv3d(pad_mode='same', no bias) computed by Conv3dKernel while `use_kernel` (CPU only)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, library, **kwargs):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, pad_mode="same", has_bias=False,
                         **kwargs)
        if self.group != 1 or any(d != 1 for d in self.dilation):
            raise ValueError("Conv3dSame's kernel has no groups or dilation; use nn.Conv3d for those")
        self.kernel = Conv3dKernel(self.stride, library)
        self.use_kernel = True

    def construct(self, x):
        if self.use_kernel:
            return self.kernel(x, self.weight)
        return super().construct(x)


def conv3d_same(in_channels, out_channels, kernel_size, stride=1, **kwargs):
    """The network's TF-SAME, bias-free Conv3d: Conv3dSame where its CPU kernel is usable, else nn.Conv3d."""
    library = build_conv_kernel() if on_cpu() else None
    if library is None:
        return nn.Conv3d(in_channels, out_channels, kernel_size, stride=stride, pad_mode="same", has_bias=False,
                         **kwargs)
    return Conv3dSame(in_channels, out_channels, kernel_size, stride, library, **kwargs)


def portable_convolutions(net):
    """Switch every Conv3dSame in `net` to MindSpore's Conv3D (same weights), e.g. before export."""
    for _, cell in net.cells_and_names():
        if isinstance(cell, Conv3dSame):
            cell.use_kernel = False
    return net
