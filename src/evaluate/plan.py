"""eval.py's (and eval_onnx.py's) plan: flags + --config (a recipe or a run's config.json) + the models'
records resolved once into a frozen EvalPlan before any video is read.

What is resolved, in order: OpenI URLs -> the checkpoint of a run given by --config RUN/config.json (its
best.ckpt, else its newest epoch checkpoint) -> each stream's inputs checked -> each model loaded once
(its record settles arch/head/classes) -> clip length and crop: the flags given, else what the models
record (an exported model: its input shape), else 64 frames and 224 -> the output folder (a new one
unless --overwrite).
"""
import json
from dataclasses import dataclass
from pathlib import Path

from src.common.settings import Settings
from src.common.errors import UserError

DEFAULT_DURATION, DEFAULT_CROP = 64, 224
RUN_CONFIG_MARK = "steps_per_epoch"  # a key only a run folder's config.json has


class EvalSetupError(UserError, ValueError):
    """A flag or file that makes evaluation impossible; the message names it."""


@dataclass(frozen=True)
class Model:
    """One stream's loaded model: numpy clips -> numpy logits, its classes, its record (None: exported)."""

    forward: object
    num_classes: int
    record: dict = None
    clip_shape: tuple = None  # (C, T, H, W) of an exported model's fixed input


@dataclass(frozen=True)
class Stream:
    name: str                # rgb | flow
    checkpoint: str
    video_path: str
    annotation_path: str
    model: Model


@dataclass(frozen=True)
class EvalPlan:
    flags: Settings          # every flag, final (sizes resolved)
    streams: tuple
    output_dir: Path
    onnx_lines: bool = False  # eval_onnx.py's joint accuracy line


def run_folder_of(config_path):
    """The run folder whose config.json `config_path` is, else None (a recipe)."""
    if not config_path or Path(config_path).suffix != ".json":
        return None
    try:
        values = json.loads(Path(config_path).read_text())
    except (OSError, ValueError):
        return None
    return Path(config_path).parent if isinstance(values, dict) and RUN_CONFIG_MARK in values else None


def checkpoint_of_run(run_dir):
    """The checkpoint eval takes from a run folder: best.ckpt, else the newest epoch checkpoint."""
    from src.checkpoints.checkpoint import run_checkpoint

    found = run_checkpoint(run_dir)
    if found is None:
        raise EvalSetupError(f"--config {run_dir / 'config.json'}: the run has no checkpoint yet in "
                             f"{run_dir / 'checkpoints'}")
    return str(found)


def stream_inputs(flags):
    """[(stream, checkpoint, video_path, annotation_path)] for --test_mode, each checked to exist."""
    from src.checkpoints.checkpoint import missing_hint

    rgb = ("rgb", flags.rgb_path, flags.video_path, flags.annotation_path)
    if flags.test_mode == "rgb":
        streams = [rgb]
    elif flags.test_mode == "flow":
        streams = [("flow", flags.flow_path, flags.video_path, flags.annotation_path)]
    else:
        streams = [rgb, ("flow", flags.flow_path, flags.video_path_joint_flow, flags.annotation_path_joint_flow)]
    names = {"rgb": ("--rgb_path", "--video_path", "--annotation_path"),
             "flow": ("--flow_path",) + (("--video_path_joint_flow", "--annotation_path_joint_flow")
                                         if flags.test_mode == "joint" else ("--video_path", "--annotation_path"))}
    for stream, *values in streams:
        for flag, value in zip(names[stream], values):
            if not value:
                raise EvalSetupError(f"--test_mode {flags.test_mode} needs {flag}")
            if not Path(value).exists():
                raise EvalSetupError(f"{flag} {value}: no such file or folder{missing_hint(value)}")
    return streams


def load_model(flags, stream, path):
    """The Model of a checkpoint or an exported .mindir/.onnx. A checkpoint's record settles arch/head/classes;
    --arch/--head/--num_classes given must agree with it."""
    from src.checkpoints.checkpoint import load_recorded
    from src.data.layout import INPUT_CHANNELS
    from src.deploy.mindir_runner import load_mindir
    from src.evaluate.video_logits import network_forward

    flag = f"--{stream}_path"
    suffix = Path(path).suffix.lower()
    if suffix in (".mindir", ".onnx"):
        if suffix == ".onnx":
            from src.deploy.onnx_runner import OnnxRunner
            runner = OnnxRunner(path, flag, flags.device_target)
        else:
            runner = load_mindir(path, flag=flag)
        if runner.clip_shape[0] != INPUT_CHANNELS[stream]:
            raise EvalSetupError(f"{flag} {path} takes {runner.clip_shape[0]}-channel clips, not {stream}")
        if flags.num_classes and flags.num_classes != runner.num_classes:
            raise EvalSetupError(f"{flag} {path} has {runner.num_classes} classes but --num_classes is "
                                 f"{flags.num_classes}")
        return Model(runner, runner.num_classes, None, tuple(runner.clip_shape))
    net, record = load_recorded(path, flag, mode=stream, arch=flags.arch, head=flags.head,
                                num_classes=flags.num_classes)
    return Model(network_forward(net), net.num_classes, record)


def model_sizes(stream):
    """{'test_sample_duration', 'spatial_size'} a stream's model asks for (values None where it does not say)."""
    model = stream.model
    if model.clip_shape is not None:
        _, frames, height, _ = model.clip_shape
        return {"test_sample_duration": frames, "spatial_size": height}
    return {"test_sample_duration": model.record.get("sample_duration"), "spatial_size": model.record.get("spatial_size")}


def clip_sizes(flags, streams):
    """--test_sample_duration and --spatial_size: given, else the models' (which must agree), else the defaults.
    An exported model's fixed input must match a size given."""
    sizes = {}
    for key, default in (("test_sample_duration", DEFAULT_DURATION), ("spatial_size", DEFAULT_CROP)):
        given = getattr(flags, key)
        asked = {s.checkpoint: model_sizes(s)[key] for s in streams}
        for stream in streams:
            fixed = stream.model.clip_shape is not None
            if fixed and given is not None and given != asked[stream.checkpoint]:
                if key == "test_sample_duration" and given == 0:
                    raise EvalSetupError(f"--{stream.name}_path {stream.checkpoint}: an exported model has a fixed "
                                         "clip length; the whole-video protocol (--test_sample_duration 0) needs a "
                                         "checkpoint")
                raise EvalSetupError(f"--{key} {given} but --{stream.name}_path {stream.checkpoint} takes "
                                     f"{asked[stream.checkpoint]}")
        if given is not None:
            sizes[key] = given
            continue
        known = {v for v in asked.values() if v is not None}
        if len(known) > 1:
            raise EvalSetupError(f"the checkpoints were trained with different {key} ("
                                 f"{', '.join(f'{p}: {v}' for p, v in asked.items())}); pass --{key}")
        sizes[key] = known.pop() if known else default
    return sizes


def holds_results(folder):
    """True when `folder` holds anything but hidden files (a lock)."""
    folder = Path(folder)
    return folder.is_dir() and any(not entry.name.startswith(".") for entry in folder.iterdir())


def output_folder(flags):
    """--output_dir (a non-empty one only with --overwrite), else a new ./eval_output/<dataset>_<mode>[_N]."""
    if flags.output_dir:
        out = Path(flags.output_dir)
        if holds_results(out) and not flags.overwrite:
            raise EvalSetupError(f"--output_dir {out} already holds results: pass --overwrite to replace them, "
                                 "or another --output_dir")
        return out
    base = Path("./eval_output") / f"{flags.dataset}_{flags.test_mode}"
    out, n = base, 1
    while holds_results(out) and not flags.overwrite:
        n += 1
        out = base.with_name(f"{base.name}_{n}")
    return out


def plan_eval(args, onnx_lines=False):
    """The frozen EvalPlan of parsed flags `args` (read, never changed); loads the models."""
    flags = Settings.of(args)
    if flags.openI:
        from src.data.openi import eval_inputs
        flags = flags.replace(**eval_inputs(flags))
    run_dir = run_folder_of(flags.config)
    if run_dir is not None and flags.test_mode in ("rgb", "flow") and not getattr(flags, f"{flags.test_mode}_path"):
        flags = flags.replace(**{f"{flags.test_mode}_path": checkpoint_of_run(run_dir)})
    if flags.num_clips > 1 and flags.test_sample_duration == 0:
        raise EvalSetupError(f"--num_clips {flags.num_clips} needs --test_sample_duration > 0 (0 = the whole video "
                             "is already one clip covering everything)")
    streams = tuple(Stream(name, path, video, annotation, load_model(flags, name, path))
                    for name, path, video, annotation in stream_inputs(flags))
    flags = flags.replace(**clip_sizes(flags, streams))
    return EvalPlan(flags, streams, output_folder(flags), onnx_lines)
