"""Export a trained I3D checkpoint to MINDIR, ONNX or AIR for deployment (export.py's logic).

What MindSpore 2.10 can write to ONNX was checked op by op (tests/test_export.py): Conv3D and
MaxPool3D with pad_mode='same' (written as auto_pad SAME_UPPER, i.e. TF's extra pad at the end),
BatchNorm3d, ReLU, Concat, ReduceMean/ReduceMax and slices all export and agree with onnxruntime.
The one op that does not is AvgPool3D ("Exporting AvgPool3D operator is not yet supported"), which
the avg head uses only when the final map is larger than 7x7 (frames over 224); for ONNX that
window mean is rewritten as AvgPool2d over (N, C*T, H, W), bit-identical and with the same
parameters. MINDIR keeps the network as it is.
"""
import os
import shutil

import mindspore as ms
import numpy as np
from mindspore import nn

from src.common.atomic import output_file, partial_path, refuse_overlap, writable_folder, write_text_atomic
from src.checkpoints.checkpoint import labels_path, load_recorded
from src.backend.conv3d import portable_convolutions
from src.common.errors import UserError
from src.model.i3d import I3DHead
from src.data.layout import INPUT_CHANNELS

FILE_FORMATS = {"MINDIR": ".mindir", "ONNX": ".onnx", "AIR": ".air"}
INPUT_NAME, OUTPUT_NAME = "x", "logits"


class ExportError(UserError, ValueError):
    """A request export cannot satisfy; the message names the flag or file at fault."""


def check_request(file_format, device_target):
    """Refuse what cannot work before any checkpoint is read or graph compiled."""
    if file_format not in FILE_FORMATS:
        raise ExportError(f"--file_format must be one of {tuple(FILE_FORMATS)}, got {file_format!r}")
    if file_format == "AIR" and device_target != "Ascend":
        raise ExportError(f"--file_format AIR needs --device Ascend (MindSpore writes AIR only through the "
                          f"Ascend backend), got --device {device_target}; use MINDIR or ONNX here")


def output_path(file_name, file_format, say=print):
    """The output-path rule (src/common/atomic.py): the path as given; the format's suffix only when the name has
    none (MindSpore's own convention appended it to any name, `m.v2` -> `m.v2.mindir`), and then said."""
    return output_file(file_name, FILE_FORMATS[file_format], "--file_name", say)


class OnnxWindowHead(I3DHead):
    """The avg head with its 7x7 window mean as AvgPool2d, which MindSpore can write to ONNX.

    Folding T into channels makes a (1,7,7) 3-D window a 2-D one; the kernel is the same, so the
    result is bit-identical to AvgPool3D (tested). It reuses the original head's logits conv, so the
    parameters (and their names) are the original's.
    """

    def __init__(self, head):
        super().__init__(head.num_classes, head.head, dropout_keep_prob=1.0)
        self.logits_conv3d = head.logits_conv3d
        self.window_pool = nn.AvgPool2d(7, 1, pad_mode="valid")

    def window_mean(self, x):
        n, c, t, h, w = x.shape
        y = self.window_pool(x.reshape(n, c * t, h, w))
        return y.reshape(n, c, t, h - 6, w - 6)


def onnx_exportable(net):
    """`net` (an I3D or its head) with ops ONNX cannot take replaced by identical ones, same parameters."""
    if isinstance(net, I3DHead):
        return net if net.head != "avg" or isinstance(net, OnnxWindowHead) else OnnxWindowHead(net)
    if "logits" in net.endpoints:
        net.insert_child_to_cell("logits", onnx_exportable(net.logits))
    return net


def export_network(net, input_shape, file_name, file_format="MINDIR"):
    """Write `net` (eval mode) for a fixed float32 input shape; returns the final path.

    MindSpore writes into a hidden `.<name>.partial-<pid>` folder beside the target (src/common/atomic.py;
    MindSpore chmods the folder it writes to and may leave a partial file on failure), then the file is
    renamed into place, so the target is either the old file or the complete new one.
    """
    final = output_path(file_name, file_format).resolve()
    writable_folder(final.parent, "--file_name")
    net.set_train(False)
    portable_convolutions(net)  # the CPU kernel is a local .so: the file gets MindSpore's own Conv3D
    if file_format == "ONNX":
        net = onnx_exportable(net)
    example = ms.Tensor(np.zeros(input_shape, np.float32))
    tmp_dir = partial_path(final)
    shutil.rmtree(tmp_dir, ignore_errors=True)  # a leftover of a killed run with our pid
    tmp_dir.mkdir()
    try:
        tmp = tmp_dir / ("model" + FILE_FORMATS[file_format])  # MindSpore appends the suffix to any other name
        if file_format == "ONNX":
            # ms.export(file_format='ONNX') is deprecated in 2.10; this also names the graph's input/output.
            ms.onnx.export(net, example, file_name=str(tmp), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME])
        else:
            ms.export(net, example, file_name=str(tmp), file_format=file_format)
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise ExportError(f"MindSpore wrote no {file_format} file for {final} (see its log above; disk full?)")
        os.replace(tmp, final)
    except OSError as exc:  # disk full, quota: the target stays as it was
        raise ExportError(f"--file_name {final}: cannot write it ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return final


DEFAULT_DURATION, DEFAULT_CROP = 64, 224


def export_checkpoint(checkpoint_path, mode=None, file_name="i3d_minddir", file_format="MINDIR", batch_size=8,
                      sample_duration=None, spatial_size=None, num_classes=None, head=None,
                      device_target="CPU", arch=None):
    """Load an I3D checkpoint (mode/num_classes/head/arch None: the checkpoint's, else checked against
    it) and export it; returns the path. The input is
    (batch_size, 3 rgb | 2 flow, sample_duration, spatial_size, spatial_size) float32; sizes None take the
    clip the checkpoint records (else 64 frames, 224). The recorded class names go to a labels file
    beside the model (labels_path), where predict finds them.
    """
    from src.checkpoints.checkpoint import clip_size

    check_request(file_format, device_target)
    refuse_overlap([("--checkpoint_path", checkpoint_path)], [("--file_name", output_path(file_name, file_format,
                                                                                         say=lambda _: None))])
    net, record = load_recorded(checkpoint_path, "--checkpoint_path", mode=mode, arch=arch, head=head,
                                num_classes=num_classes)
    recorded_duration, recorded_crop = clip_size(record)
    sample_duration = sample_duration or recorded_duration or DEFAULT_DURATION
    spatial_size = spatial_size or recorded_crop or DEFAULT_CROP
    if min(batch_size, sample_duration, spatial_size) < 1:
        raise ExportError(f"--batch_size, --sample_duration and --spatial_size must be positive, got "
                          f"{batch_size}, {sample_duration}, {spatial_size}")
    shape = (batch_size, INPUT_CHANNELS[record["mode"]], sample_duration, spatial_size, spatial_size)
    path = export_network(net, shape, file_name, file_format)
    if record.get("class_names"):
        write_text_atomic(labels_path(path), "".join(f"{name}\n" for name in record["class_names"]))
    return path
