"""Load this project's (and the original port's) MindSpore checkpoints into a network, checked.

Every checkpoint the project writes carries a record (RECORD_KEY, a JSON string saved beside the
tensors): arch, head, mode, classes and their names, the input convention. Readers build the network
the record describes, so eval/predict/export/resume need no repeated flags, and a flag that says
otherwise is an error naming both. A checkpoint without a record is described from its tensors; one
whose head is spelled `logits.logits_conv3d.*` (written by the original port's fine-tuning) is taken
as arch original. That spelling is renamed explicitly rather than through MindSpore's silent prefix
fallback. Mismatches are errors that say what differs: input channels, class count, missing tensors.
"""
import json
import math
import re
from pathlib import Path

import mindspore as ms

from src.model import arch as arches
from src.common.atomic import OutputError, atomic_output, writable_folder
from src.common.errors import UserError
from src.model.i3d import build_i3d
from src.data.layout import mode_of_channels

HEAD_ALIAS_PREFIX = "logits."
STEM_WEIGHT = "Conv3d_1a_7x7.weight"
LOGITS_WEIGHT = "logits_conv3d.weight"
RECORD_KEY = "i3d_record"
RECORD_FIELDS = ("arch", "head", "mode", "num_classes", "class_names")


class CheckpointError(UserError, ValueError):
    """A checkpoint that does not fit the network; the message names the file and the difference."""


def make_record(arch, head, mode, num_classes, class_names=None, sample_duration=None, spatial_size=None):
    """The record saved in a checkpoint: what network it is and what input it takes.

    sample_duration / spatial_size: the clip length (frames) and square crop the model was trained and
    validated with; eval and export take them as their defaults (clip_size). None: not known (converted
    weights, where any size works)."""
    bgr = arches.get(arch).bgr and mode == "rgb"
    channels = "R,G,B" if mode == "rgb" else "flow x,y"
    return {"arch": arch, "head": head, "mode": mode, "num_classes": int(num_classes),
            "class_names": list(class_names) if class_names is not None else None,
            "sample_duration": sample_duration, "spatial_size": spatial_size,
            "input": {"layout": "N,C,T,H,W", "dtype": "float32", "scale": "[-1, 1] = v / 127.5 - 1",
                      "channels": channels, "network_reverses_to_bgr": bgr}}


def clip_size(record):
    """(sample_duration, spatial_size) a checkpoint records (each None when not recorded)."""
    return record.get("sample_duration"), record.get("spatial_size")


def save_checkpoint_atomic(save_obj, path, record=None):
    """ms.save_checkpoint under a temporary name, then rename: a killed run leaves no half-written file.

    save_obj is a Cell or a list of {'name', 'data'}; record (make_record) is stored as a JSON string.
    """
    path = Path(path)
    writable_folder(path.parent)
    extra = {RECORD_KEY: json.dumps(record)} if record else None
    try:
        with atomic_output(path, suffix=".ckpt") as tmp:
            try:
                ms.save_checkpoint(save_obj, str(tmp), append_dict=extra)
            finally:
                tmp.with_suffix(".tmp").unlink(missing_ok=True)  # MindSpore's own temp name, left on failure
    except OSError as exc:  # disk full, quota: one line naming the file, the old file (if any) kept
        raise OutputError(f"{path}: cannot write this checkpoint ({exc.strerror or exc})") from None


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


PRETRAINED_FILES = ("i3d_rgb_kinetics400.ckpt", "i3d_flow_from_rgb_kinetics400.ckpt")


def missing_hint(path):
    """For a missing file that a project command makes: the command (else "")."""
    if Path(path).name in PRETRAINED_FILES:
        return f" (make it with: bash scripts/get_pretrained.sh, which writes {', '.join(PRETRAINED_FILES)} into " \
               "./pretrained/ or $I3D_PRETRAINED_DIR)"
    return ""


def open_checkpoint(path, flag="--checkpoint"):
    """(params {name: Parameter} with the head's `logits.` prefix removed, record).

    The record is the stored one, or one described from the tensors (`recorded` False, unknown fields
    None; arch original when the head has the original's fine-tuned spelling)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{flag} {path}: no such file{missing_hint(path)}")
    check_tensor_data(path, flag)
    try:
        raw = ms.load_checkpoint(str(path))
    except Exception as exc:
        raise CheckpointError(f"{flag} {path}: not a readable MindSpore checkpoint ({exc})") from exc
    stored = raw.pop(RECORD_KEY, None)
    out, original_head = {}, False
    for name, value in raw.items():
        if name.startswith(HEAD_ALIAS_PREFIX + "logits_conv3d."):
            name = name[len(HEAD_ALIAS_PREFIX):]
            original_head = True
        out[name] = value
    if STEM_WEIGHT not in out:
        raise CheckpointError(f"{flag} {path}: no {STEM_WEIGHT}; not an I3D checkpoint in this project's "
                              "names (convert it with pt2ckpt.py)")
    mode, _, num_classes = describe(out)
    if stored is not None:
        try:
            record = dict(json.loads(stored), recorded=True)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{flag} {path}: unreadable {RECORD_KEY} ({exc})") from exc
    else:
        record = {"arch": "original" if original_head else None, "head": None, "mode": mode,
                  "num_classes": num_classes, "class_names": None, "recorded": False,
                  "original_layout": original_head}
    return out, record


def read_checkpoint(path, flag="--checkpoint"):
    """{name: Parameter} with the head's `logits.` prefix removed (the record left out)."""
    return open_checkpoint(path, flag)[0]


def settle(record, path, flag, **given):
    """The settings to build the network with: each of arch/head/mode/num_classes from the flag given
    (not None) or the record. A flag that contradicts a stored record is an error naming both; a value
    described from the tensors (mode, classes) must match too; an inferred arch only fills a gap."""
    settled = {}
    for key, value in given.items():
        known = record.get(key)
        hard = record.get("recorded") or key in ("mode", "num_classes")
        if value is not None and known is not None and value != known and hard:
            if key == "mode":  # asked for by --mode, --test_mode or the stream being evaluated
                raise CheckpointError(f"{flag} {path} is a {known} model, not {value}")
            says = "its record says" if record.get("recorded") else "its tensors say"
            raise CheckpointError(f"--{key} {value} contradicts {flag} {path}: {says} {key} {known}")
        settled[key] = value if value is not None else known
    if "arch" in settled:
        if settled["arch"] is None:
            settled["arch"] = arches.DEFAULT
        elif record.get("original_layout") and given.get("arch") is None:
            print(f"{flag} {path}: the original port's fine-tuned checkpoint (head logits.logits_conv3d.*, no "
                  "record): run as --arch original (BGR input, BN eps 1e-5, global max head)", flush=True)
    if "head" in settled and settled["head"] is None:
        settled["head"] = arches.get(settled.get("arch")).head
    return settled


def check_class_names(record, names, path, flag, source):
    """Class names from an annotation or label file against the recorded ones (when recorded)."""
    recorded = record.get("class_names")
    if recorded is not None and list(names) != list(recorded):
        diff = next((i for i, (a, b) in enumerate(zip(names, recorded)) if a != b), min(len(names), len(recorded)))
        raise CheckpointError(f"{source} lists other classes than {flag} {path} records ({len(names)} vs "
                              f"{len(recorded)} names, first difference at index {diff})")


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


def load_recorded(path, flag="--checkpoint", mode=None, arch=None, head=None, num_classes=None, **net_kwargs):
    """(network, record): the network a checkpoint describes, built and loaded; the record carries the
    settled arch/head/mode/num_classes. Flags given (not None) are checked against the checkpoint."""
    params, record = open_checkpoint(path, flag)
    record = dict(record, **settle(record, path, flag, mode=mode, arch=arch, head=head, num_classes=num_classes))
    kwargs = dict(arches.network_kwargs(record["arch"], record["mode"], record["head"]), **net_kwargs)
    net = build_i3d(record["mode"], num_classes=record["num_classes"] or 400, **kwargs)
    return load_into(net, params, path, flag), record


def load_i3d(path, mode=None, flag="--checkpoint", **settings):
    """Build the network that a checkpoint describes (arch, head, channels, classes) and load it."""
    return load_recorded(path, flag, mode=mode, **settings)[0]


# -- where a training run keeps its checkpoints (<run>/checkpoints/i3d-<epoch>_<steps>.ckpt, <run>/best.ckpt)
CHECKPOINT_PREFIX = "i3d"
CKPT_RE = re.compile(rf"^{CHECKPOINT_PREFIX}-(\d+)_(\d+)\.ckpt$")
CHECKPOINTS = "checkpoints"


def checkpoint_name(epoch, steps):
    """The original's epoch checkpoint name: i3d-<epoch>_<steps per epoch>.ckpt."""
    return f"{CHECKPOINT_PREFIX}-{epoch}_{steps}.ckpt"


def epoch_checkpoints(run_dir):
    """[(epoch, steps, path)] of the run's epoch checkpoints, oldest first."""
    return checkpoints_in(Path(run_dir) / CHECKPOINTS)


def checkpoints_in(folder):
    """[(epoch, steps, path)] of the epoch checkpoints in `folder`, oldest first."""
    folder = Path(folder)
    found = []
    for path in folder.glob(f"{CHECKPOINT_PREFIX}-*.ckpt") if folder.is_dir() else []:
        m = CKPT_RE.match(path.name)
        if m:
            found.append((int(m.group(1)), int(m.group(2)), path))
    return sorted(found)


def labels_path(model):
    """Where export writes a model's class names: <name>.labels.txt beside <name>.mindir / .onnx / .air."""
    return Path(model).with_suffix(".labels.txt")


def run_checkpoint(run_dir):
    """The checkpoint a run folder stands for: best.ckpt (chosen on held-out videos), else the newest epoch one
    (None without either)."""
    run_dir = Path(run_dir)
    if (run_dir / "best.ckpt").is_file():
        return run_dir / "best.ckpt"
    found = epoch_checkpoints(run_dir)
    return found[-1][2] if found else None
