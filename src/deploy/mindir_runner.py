"""Run an exported I3D MINDIR (export.py) as a function of NumPy batches, for predict.py and eval.py.

A MINDIR has a fixed input shape. The runner reads it from the file (MindSpore's own mind_ir
protobuf) so that a wrong clip is a clear error naming the file and both shapes instead of a
failure inside the graph; batches of any size are cut into and padded to the exported batch size.
"""
from pathlib import Path

import mindspore as ms
import numpy as np
from mindspore.train import mind_ir_pb2

from src.common.errors import UserError
from src.data.layout import mode_of_channels
from src.model.network_input import as_network_input
from src.backend.runtime import prefer_fast_cpu_kernels


class MindirError(UserError, ValueError):
    """A MINDIR that cannot be read, or an input that does not fit it; the message names the file."""


def read_io_shapes(path, flag="--mindir"):
    """(input shape, output shape) stored in a MINDIR file."""
    model = mind_ir_pb2.ModelProto()
    try:
        model.ParseFromString(Path(path).read_bytes())
        inputs, outputs = model.graph.input, model.graph.output
        return tuple(inputs[0].tensor[0].dims), tuple(outputs[0].tensor[0].dims)
    except Exception as exc:  # DecodeError for other files, IndexError for a graph without input/output
        raise MindirError(f"{flag} {path}: not a readable single-input MINDIR ({exc})") from exc


class FixedShapeRunner:
    """f(batch (N', C, T, H, W) float32) -> logits (N', classes) for any N' over an exported graph with a
    fixed input shape; subclasses read the shapes (`io_shapes`) and run one batch (`run_batch`)."""

    def __init__(self, path, flag):
        self.path, self.flag = Path(path), flag
        if not self.path.is_file():
            raise MindirError(f"{self.flag} {self.path}: no such file")
        self.input_shape, self.output_shape = self.io_shapes()
        if len(self.input_shape) != 5 or len(self.output_shape) != 2:
            raise MindirError(f"{self.flag} {self.path}: input {self.input_shape} / output {self.output_shape} "
                              "is not an I3D export (N, C, T, H, W) -> (N, classes)")

    @property
    def batch_size(self):
        return self.input_shape[0]

    @property
    def clip_shape(self):
        """(C, T, H, W) that every clip must have."""
        return self.input_shape[1:]

    @property
    def num_classes(self):
        return self.output_shape[1]

    def check(self, batch):
        if batch.ndim != 5 or tuple(batch.shape[1:]) != self.clip_shape:
            want = ", ".join(map(str, self.clip_shape))
            raise MindirError(f"{self.flag} {self.path} takes clips (N, C, T, H, W) = (N, {want}) "
                              f"but got {tuple(batch.shape)}")

    def __call__(self, batch):
        batch = as_network_input(batch, self.flag)
        self.check(batch)
        n, size = batch.shape[0], self.batch_size
        out = []
        for start in range(0, n, size):
            chunk = batch[start:start + size]
            if len(chunk) < size:  # rows are independent in eval mode: zero rows only fill the shape
                chunk = np.concatenate([chunk, np.zeros((size - len(chunk),) + chunk.shape[1:], np.float32)])
            out.append(self.run_batch(np.ascontiguousarray(chunk)))
        if not out:
            return np.zeros((0, self.num_classes), np.float32)
        return np.concatenate(out)[:n]


class MindirRunner(FixedShapeRunner):
    """An exported MINDIR run by MindSpore; see load_mindir."""

    def __init__(self, path, flag="--mindir"):
        super().__init__(path, flag)
        self._graph = ms.nn.GraphCell(ms.load(str(self.path)))

    def io_shapes(self):
        return read_io_shapes(self.path, self.flag)

    def run_batch(self, batch):
        return self._graph(ms.Tensor(batch)).asnumpy()


def load_mindir(path, flag="--mindir"):
    """A callable over an exported MINDIR: logits = load_mindir(path)(np.ndarray (N, C, T, H, W)).

    `flag` is the command-line option that named the file, for the error messages.
    """
    # The file runs MindSpore's own Conv3D: cap oneDNN at AVX2 (effective where, as in predict.py
    # --mindir, no MindSpore op has run yet in this process; see src/backend/runtime.py).
    prefer_fast_cpu_kernels(mindspore_convolutions=True)
    return MindirRunner(path, flag)


def fit_clip(clip, runner, mode=None):
    """A (C, T, H, W) clip cut to the exported length (its first T frames), or a MindirError.

    Longer clips are trimmed like predict.py's --num_frames; shorter ones, other frame sizes or
    another channel count (rgb vs flow) cannot be run by a fixed-shape graph.
    """
    c, t, h, w = runner.clip_shape
    got_c, got_t, got_h, got_w = clip.shape
    if got_c != c:
        kind = mode_of_channels(c)
        raise MindirError(f"{runner.flag} {runner.path} is {'an' if kind == 'rgb' else 'a'} {kind} model ({c} channels) but the clip has {got_c}"
                          f"{f' (--mode {mode})' if mode else ''}")
    if got_t < t or (got_h, got_w) != (h, w):
        hint = f"it needs at least {t} frames" if got_t < t else "match --crop to the exported --spatial_size"
        raise MindirError(f"{runner.flag} {runner.path} was exported for clips of T,H,W = {t},{h},{w} but this "
                          f"clip is {got_t},{got_h},{got_w} ({hint})")
    return clip[:, :t]
