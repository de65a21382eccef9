"""Load this project's (and the original port's) MindSpore checkpoints into a network, checked.

The fine-tuned head may be spelled `logits.logits_conv3d.*` (the original's replace_logits); it is
renamed explicitly rather than relying on MindSpore's silent prefix fallback. Mismatches are errors
that say what differs: input channels (rgb vs flow), class count, missing tensors.
"""
import math
from pathlib import Path

import mindspore as ms

from .atomic import atomic_output, writable_folder
from .errors import UserError
from .i3d import build_i3d
from .layout import mode_of_channels

HEAD_ALIAS_PREFIX = "logits."
STEM_WEIGHT = "Conv3d_1a_7x7.weight"
LOGITS_WEIGHT = "logits_conv3d.weight"


class CheckpointError(UserError, ValueError):
    """A checkpoint that does not fit the network; the message names the file and the difference."""


def save_checkpoint_atomic(save_obj, path):
    """ms.save_checkpoint under a temporary name, then rename: a killed run leaves no half-written file.

    save_obj is a Cell or a list of {'name', 'data'}.
    """
    path = Path(path)
    writable_folder(path.parent)
    with atomic_output(path, suffix=".ckpt") as tmp:
        ms.save_checkpoint(save_obj, str(tmp))


# Bytes per element of the tensor types a checkpoint file names (others, e.g. strings, are not checked).
DTYPE_BYTES = {"Float16": 2, "BFloat16": 2, "Float32": 4, "Float64": 8, "Int8": 1, "UInt8": 1, "Int16": 2,
               "UInt16": 2, "Int32": 4, "UInt32": 4, "Int64": 8, "UInt64": 8, "Bool": 1}


def check_tensor_data(path, flag="--checkpoint"):
    """Refuse a checkpoint whose tensors hold fewer (or more) bytes than their shapes need: MindSpore's
    loader fills the missing part with zeros without a word, so a cut file would give wrong results."""
    from mindspore.train import checkpoint_pb2

    proto = checkpoint_pb2.Checkpoint()
    try:
        proto.ParseFromString(Path(path).read_bytes())
    except Exception as exc:  # DecodeError for a cut or foreign file
        raise CheckpointError(f"{flag} {path}: not a readable MindSpore checkpoint ({exc})") from None
    need, have = {}, {}
    for value in proto.value:  # a large tensor is stored as several slices under one tag
        size = DTYPE_BYTES.get(value.tensor.tensor_type)
        if size is not None:
            need[value.tag] = math.prod(value.tensor.dims) * size
            have[value.tag] = have.get(value.tag, 0) + len(value.tensor.tensor_content)
    bad = [f"{tag} has {have[tag]} of {need[tag]} bytes" for tag in need if have[tag] != need[tag]]
    if bad:
        raise CheckpointError(f"{flag} {path}: truncated or corrupt: {len(bad)} tensors do not hold the data their "
                              f"shapes need ({'; '.join(bad[:3])})")


def read_checkpoint(path, flag="--checkpoint"):
    """{name: Parameter} with the head's `logits.` prefix removed."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{flag} {path}: no such file")
    check_tensor_data(path, flag)
    try:
        params = ms.load_checkpoint(str(path))
    except Exception as exc:
        raise CheckpointError(f"{flag} {path}: not a readable MindSpore checkpoint ({exc})") from exc
    out = {}
    for name, value in params.items():
        if name.startswith(HEAD_ALIAS_PREFIX + "logits_conv3d."):
            name = name[len(HEAD_ALIAS_PREFIX):]
        out[name] = value
    if STEM_WEIGHT not in out:
        raise CheckpointError(f"{flag} {path}: no {STEM_WEIGHT}; not an I3D checkpoint in this project's "
                              "names (convert it with pt2ckpt.py)")
    return out


def describe(params):
    """(mode, in_channels, num_classes or None) of a checkpoint read with read_checkpoint."""
    in_channels = params[STEM_WEIGHT].shape[1]
    mode = mode_of_channels(in_channels)
    num_classes = params[LOGITS_WEIGHT].shape[0] if LOGITS_WEIGHT in params else None
    return mode, in_channels, num_classes


def load_into(net, params, path="checkpoint", flag="--checkpoint", skip_head=False):
    """Fill every parameter of `net` from `params` (strict); `skip_head` leaves the classifier as it is."""
    mode, in_channels, num_classes = describe(params)
    if in_channels != net.in_channels:
        want = mode_of_channels(net.in_channels)
        raise CheckpointError(f"{flag} {path} is a {mode} model ({in_channels} input channels) but the "
                              f"network is {want} ({net.in_channels}); check --mode / --test_mode")
    wanted = {p.name: p for p in net.get_parameters()}
    if skip_head:
        wanted = {n: p for n, p in wanted.items() if not n.startswith("logits_conv3d.")}
    elif num_classes is not None and LOGITS_WEIGHT in wanted and num_classes != net.num_classes:
        raise CheckpointError(f"{flag} {path} has {num_classes} classes but the network has "
                              f"{net.num_classes}; check --num_classes")
    missing = [n for n in wanted if n not in params]
    bad = [f"{n}: {tuple(params[n].shape)} vs {tuple(p.shape)}" for n, p in wanted.items()
           if n in params and tuple(params[n].shape) != tuple(p.shape)]
    if missing or bad:
        raise CheckpointError(f"{flag} {path} does not fit the network: missing {missing[:10]}"
                              f"{' ...' if len(missing) > 10 else ''}; shape mismatches {bad[:10]}")
    subset = {n: params[n] for n in wanted}
    not_loaded, _ = ms.load_param_into_net(net, subset, strict_load=True)
    if not_loaded:
        raise CheckpointError(f"{flag} {path}: parameters not loaded: {not_loaded[:10]}")
    return net


def load_i3d(path, mode=None, flag="--checkpoint", **net_kwargs):
    """Build the network that a checkpoint describes (channels, classes) and load it."""
    params = read_checkpoint(path, flag)
    ckpt_mode, _, num_classes = describe(params)
    if mode is not None and mode != ckpt_mode:
        raise CheckpointError(f"{flag} {path} is a {ckpt_mode} model but --mode is {mode}")
    net = build_i3d(ckpt_mode, num_classes=num_classes or 400, **net_kwargs)
    return load_into(net, params, path, flag)
