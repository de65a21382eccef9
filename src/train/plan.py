"""train.py's run plan: flags + --config recipe + a resumed run's record + what the inputs say, resolved
once into a frozen TrainPlan before any data is read. Nothing edits the parsed namespace; config.json is
this plan as resolved (plus the data's counts).

Resolution order (each step sees the previous ones): OpenI URLs -> device and ranks -> save folder ->
resume (the run's own structural settings win, network flags must agree) -> run folder -> input paths
checked -> arch/head/BN momentum (the pretrained or resumed checkpoint's record, else the arch's) ->
classes (the annotation JSON's).
"""
import json
from dataclasses import dataclass
from pathlib import Path

from src.common.settings import Settings
from src.common.errors import UserError

AUTO_AMP = {"CPU": "O0", "GPU": "O2", "Ascend": "O3"}
# what the network is: given again on --resume they must agree with the run's (others: the run's value wins)
NETWORK_FLAGS = ("arch", "head", "mode")
SAVE_DIRS = {False: "./output_standalone/", True: "./output_distribute/"}


class TrainingSetupError(UserError, ValueError):
    """A flag or file that makes training impossible; the message names it."""


@dataclass(frozen=True)
class TrainPlan:
    """Everything decided before any data is read."""

    flags: Settings              # every flag, final (resolved values, never None where a default exists)
    device_target: str
    amp_level: str
    rank: int
    group: int
    run_dir: Path
    class_names: tuple           # the annotation JSON's classes, in class-id order
    resume_checkpoint: Path = None
    initial_epoch: int = 0

    def config(self, **facts):
        """config.json: the resolved flags, the run folder and what the run found (`facts`)."""
        config = self.flags.as_dict()
        config.update(run_dir=str(self.run_dir), amp_level_used=self.amp_level,
                      device_target_used=self.device_target, rank=self.rank, group_size=self.group, **facts)
        return config


def resolve_amp(level, device_target):
    if level == "auto":
        return AUTO_AMP[device_target]
    if device_target == "CPU" and level != "O0":
        raise TrainingSetupError(f"--amp_level {level} needs GPU or Ascend: MindSpore's CPU backend trains in "
                                 "float32 only (use --amp_level O0 or auto)")
    return level


def require_paths(flags):
    for flag in ("video_path", "annotation_path"):
        value = getattr(flags, flag)
        if not value:
            raise TrainingSetupError(f"--{flag} is required (or use scripts/run_standalone_train.sh with the "
                                     "standard data layout, docs/datasets.md)")
        if not Path(value).exists():
            raise TrainingSetupError(f"--{flag} {value}: no such file or folder")


def resume_point(flags):
    """(run folder, newest epoch checkpoint, its epoch) of --resume."""
    from src.train.run_folder import CHECKPOINTS, checkpoint_name, default_run_dir, epoch_checkpoints, find_resume_dir

    if flags.distributed:  # each rank continues its own <save_dir>/<dataset>_<mode>_device<rank>
        if flags.resume != "latest":
            raise TrainingSetupError(f"--resume {flags.resume}: with --distributed, pass --resume alone (each rank "
                                     "finds its folder under --save_dir)")
        run_dir = default_run_dir(flags.save_dir, flags.dataset, flags.mode, flags.device_id, True)
    else:
        run_dir = find_resume_dir(flags.resume, flags.save_dir, flags.dataset, flags.mode, flags.device_id)
    ckpts = epoch_checkpoints(run_dir)
    if not ckpts:
        raise TrainingSetupError(f"--resume {run_dir}: no {checkpoint_name('<epoch>', '<steps>')} in "
                                 f"{Path(run_dir) / CHECKPOINTS}")
    epoch, _, path = ckpts[-1]
    return Path(run_dir), path, epoch


def kept_settings(flags, run_dir, structural):
    """The resumed run's own values of the `structural` flags (from its config.json) that differ from the
    command line's; a network flag given that contradicts the run is an error."""
    config_file = Path(run_dir) / "config.json"
    if not config_file.exists():
        return {}
    saved = json.loads(config_file.read_text())
    kept = {}
    for key in structural:
        given = getattr(flags, key)
        if key in saved and saved[key] != given:
            if key in NETWORK_FLAGS and given is not None:
                raise TrainingSetupError(f"--{key} {given} contradicts --resume {run_dir}, whose run is "
                                         f"{key} {saved[key]} ({config_file})")
            if given is not None:
                print(f"resume: keeping the run's {key}={saved[key]!r} (command line said {given!r})")
            kept[key] = saved[key]
    return kept


def network_settings(flags, weights):
    """arch, head and bn_momentum made explicit: flags given, else the record of `weights` (the pretrained
    or resumed checkpoint, when there is one), else the arch's own values."""
    from src.model.arch import DEFAULT, get
    from src.checkpoints.checkpoint import open_checkpoint

    arch = flags.arch
    if arch is None and weights:
        arch = open_checkpoint(weights, "--resume" if flags.resume else "--checkpoint_path")[1]["arch"]
    arch = get(arch or DEFAULT)
    return {"arch": arch.name, "head": flags.head or arch.head,
            "bn_momentum": arch.bn_momentum if flags.bn_momentum is None else flags.bn_momentum}


def class_names(flags):
    """The annotation JSON's classes; --finetune_num_classes given must agree."""
    from src.data.loader.index import load_annotation

    labels = tuple(load_annotation(flags.annotation_path)[0])
    if flags.finetune_num_classes is not None and flags.finetune_num_classes != len(labels):
        raise TrainingSetupError(f"--annotation_path {flags.annotation_path} has {len(labels)} classes but "
                                 f"--finetune_num_classes is {flags.finetune_num_classes}")
    return labels


def plan_run(args, structural=()):
    """The frozen TrainPlan of parsed flags `args` (read, never changed); sets up the device and ranks."""
    from src.train.distributed import local_device_id, setup_distribution
    from src.train.run_folder import default_run_dir
    from src.backend.runtime import configure

    flags = Settings.of(args)
    if flags.openI:
        from src.data.openi import train_inputs
        flags = flags.replace(**train_inputs(flags))
    device_target = configure(flags.device_target, flags.context, local_device_id(flags), flags.seed)
    amp_level = resolve_amp(flags.amp_level, device_target)
    rank, group = setup_distribution(flags)
    flags = flags.replace(device_id=rank if flags.distributed else flags.device_id,
                          save_dir=flags.save_dir or SAVE_DIRS[bool(flags.distributed)])
    resume_checkpoint, initial_epoch = None, 0
    if flags.resume:
        run_dir, resume_checkpoint, initial_epoch = resume_point(flags)
        flags = flags.replace(**kept_settings(flags, run_dir, structural))
    else:
        run_dir = Path(flags.run_dir) if flags.run_dir else default_run_dir(
            flags.save_dir, flags.dataset, flags.mode, flags.device_id, flags.distributed)
    require_paths(flags)
    flags = flags.replace(**network_settings(flags, resume_checkpoint or flags.checkpoint_path))
    names = class_names(flags)
    flags = flags.replace(finetune_num_classes=len(names), run_dir=str(run_dir))
    return TrainPlan(flags, device_target, amp_level, rank, group, run_dir, names, resume_checkpoint, initial_epoch)
