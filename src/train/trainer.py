"""train.py's job in named steps: plan (flags final, resume resolved) -> data -> model -> restore -> callbacks -> fit."""
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from src.train.distributed import RankMismatch, check_same_start, local_device_id, setup_distribution
from src.common.atomic import exclusive_output
from src.common.errors import UserError
from src.train.run_folder import CHECKPOINTS, checkpoint_name, prepare, write_labels
from src.backend.runtime import configure

AUTO_AMP = {"CPU": "O0", "GPU": "O2", "Ascend": "O3"}
# what the network is: given again on --resume they must agree with the run's (others: the run's value wins)
NETWORK_FLAGS = ("arch", "head", "mode")


class TrainingSetupError(UserError, ValueError):
    """A flag or file that makes training impossible; the message names it."""


def resolve_amp(level, device_target):
    if level == "auto":
        return AUTO_AMP[device_target]
    if device_target == "CPU" and level != "O0":
        raise TrainingSetupError(f"--amp_level {level} needs GPU or Ascend: MindSpore's CPU backend trains in "
                                 "float32 only (use --amp_level O0 or auto)")
    return level


def require_paths(args):
    for flag in ("video_path", "annotation_path"):
        value = getattr(args, flag)
        if not value:
            raise TrainingSetupError(f"--{flag} is required (or use scripts/run_standalone_train.sh with the "
                                     "standard data layout, README \"Data preparation\")")
        if not Path(value).exists():
            raise TrainingSetupError(f"--{flag} {value}: no such file or folder")


def build_network(args, resuming):
    """The network to train and its trainable parameters (fine-tuned from --checkpoint_path or scratch).

    --arch left unset takes the pretrained checkpoint's (recorded or recognised), else deepmind; a
    different --arch is allowed here, fine-tuning changes the network. --head and --bn_momentum left
    unset take the arch's."""
    from src.model.arch import DEFAULT, get, network_kwargs
    from src.checkpoints.checkpoint import describe, load_into, open_checkpoint
    from src.model.finetune import freeze_all_but, parse_prefixes
    from src.model.i3d import build_i3d

    params = None
    if args.checkpoint_path and not resuming:  # resuming: weights come from the run's checkpoint
        params, record = open_checkpoint(args.checkpoint_path, "--checkpoint_path")
        args.arch = args.arch or record["arch"]
    args.arch = args.arch or DEFAULT
    args.head = args.head or get(args.arch).head
    kwargs = dict(network_kwargs(args.arch, args.mode, args.head, args.bn_momentum),
                  dropout_keep_prob=args.dropout_keep_prob)
    if not args.checkpoint_path:
        net = build_i3d(args.mode, args.finetune_num_classes, **kwargs)
        return net, net.trainable_params()
    if params is None:
        net = build_i3d(args.mode, args.finetune_num_classes, **kwargs)
    else:
        mode, _, pretrained_classes = describe(params)
        if mode != args.mode:
            raise TrainingSetupError(f"--checkpoint_path {args.checkpoint_path} is a {mode} model but --mode is "
                                     f"{args.mode} (for flow from RGB weights: pt2ckpt.py --mode flow --rgb_to_flow)")
        if args.num_classes and pretrained_classes and args.num_classes != pretrained_classes:
            raise TrainingSetupError(f"--num_classes {args.num_classes} but --checkpoint_path "
                                     f"{args.checkpoint_path} has {pretrained_classes} classes")
        net = build_i3d(args.mode, pretrained_classes or args.finetune_num_classes, **kwargs)
        load_into(net, params, args.checkpoint_path, "--checkpoint_path", skip_head=pretrained_classes is None)
        net.replace_logits(args.finetune_num_classes)
    prefixes = parse_prefixes(args.finetune_prefixes)
    return net, freeze_all_but(net, prefixes, get(args.arch).frozen_bn_batch_statistics)


def build_optimizer(args, params, schedule):
    from mindspore import Tensor, nn

    lr = Tensor(schedule)
    name = args.optimizer.lower()
    if name == "adam":
        return nn.Adam(params, learning_rate=lr, weight_decay=args.weight_decay)
    if name == "sgd":
        return nn.SGD(params, learning_rate=lr, momentum=args.momentum, weight_decay=args.weight_decay)
    return nn.RMSProp(params, learning_rate=lr, weight_decay=args.weight_decay)


@dataclass
class TrainPlan:
    """Everything decided before any data is read: the final flags (a resumed run's own structural
    settings in place), the device, the ranks, the run folder and where training starts."""

    args: object
    device_target: str
    amp_level: str
    rank: int = 0
    group: int = 1
    run_dir: Path = None
    resume_checkpoint: Path = None
    initial_epoch: int = 0


@dataclass
class TrainData:
    dataset: object          # the batched MindSpore dataset
    source: object           # its ClipDataset (training videos)
    validation: object       # held-out ClipDataset or None
    steps: int               # steps per epoch


def resume_state(args, structural):
    """(run folder, newest epoch checkpoint, its epoch); the run's own `structural` settings go into args."""
    from src.train.run_folder import default_run_dir, epoch_checkpoints, find_resume_dir

    if args.distributed:  # each rank continues its own <save_dir>/<dataset>_<mode>_device<rank>
        if args.resume != "latest":
            raise TrainingSetupError(f"--resume {args.resume}: with --distributed, pass --resume alone (each rank "
                                     "finds its folder under --save_dir)")
        run_dir = default_run_dir(args.save_dir, args.dataset, args.mode, args.device_id, True)
    else:
        run_dir = find_resume_dir(args.resume, args.save_dir, args.dataset, args.mode, args.device_id)
    ckpts = epoch_checkpoints(run_dir)
    if not ckpts:
        raise TrainingSetupError(f"--resume {run_dir}: no {checkpoint_name('<epoch>', '<steps>')} in "
                                 f"{Path(run_dir) / CHECKPOINTS}")
    epoch, _, path = ckpts[-1]
    config_file = Path(run_dir) / "config.json"
    if config_file.exists():
        saved = json.loads(config_file.read_text())
        for key in structural:
            given = getattr(args, key)
            if key in saved and saved[key] != given:
                if key in NETWORK_FLAGS and given is not None:
                    raise TrainingSetupError(f"--{key} {given} contradicts --resume {run_dir}, whose run is "
                                             f"{key} {saved[key]} ({config_file})")
                if given is not None:
                    print(f"resume: keeping the run's {key}={saved[key]!r} (command line said {given!r})")
                setattr(args, key, saved[key])
    return Path(run_dir), path, epoch


def plan_run(args, structural):
    """Step 1: device and ranks set up, resume resolved, every flag final."""
    from src.train.run_folder import default_run_dir

    device_target = configure(args.device_target, args.context, local_device_id(args), args.seed)
    plan = TrainPlan(args, device_target, resolve_amp(args.amp_level, device_target))
    plan.rank, plan.group = setup_distribution(args)
    if args.distributed:
        args.device_id = plan.rank
        args.save_dir = args.save_dir if args.save_dir != "./output_standalone/" else "./output_distribute/"
    if args.resume:
        plan.run_dir, plan.resume_checkpoint, plan.initial_epoch = resume_state(args, structural)
    else:
        plan.run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(
            args.save_dir, args.dataset, args.mode, args.device_id, args.distributed)
    require_paths(args)
    return plan


def build_data(plan):
    """Step 2: the training videos (minus a held-out part), the batched pipeline, steps per epoch."""
    from src.data.loader.clip_dataset import ClipDataset
    from src.data.loader.holdout import hold_out
    from src.data.loader.mindspore_dataset import to_mindspore
    from src.train.run_folder import ShardRecord

    args = plan.args
    source = ClipDataset(args.video_path, args.annotation_path, args.mode, "training", True,
                         args.train_sample_duration, args.spatial_size, args.seed, flip=args.flip)
    args.finetune_num_classes = args.finetune_num_classes or len(source.labels)  # the JSON's classes
    if len(source.labels) != args.finetune_num_classes:
        raise TrainingSetupError(f"--annotation_path {args.annotation_path} has {len(source.labels)} classes but "
                                 f"--finetune_num_classes is {args.finetune_num_classes}")
    validation = None
    if args.val_fraction > 0 and not args.no_eval:
        source, validation = hold_out(source, args.val_fraction, args.seed, args.test_sample_duration)
    sharded = args.distributed
    dataset = to_mindspore(source, args.batch_size, args.num_workers,
                           num_shards=plan.group if sharded else None, shard_id=plan.rank if sharded else None,
                           start_epoch=plan.initial_epoch,
                           record=ShardRecord(plan.run_dir, source.video_ids, args.num_epochs) if sharded else None)
    steps = dataset.get_dataset_size()
    if steps == 0:
        raise TrainingSetupError(f"{len(source)} training videos make no full batch of --batch_size {args.batch_size}"
                                 f"{f' per each of {plan.group} devices' if plan.group > 1 else ''}")
    return TrainData(dataset, source, validation, steps)


def build_model(plan, steps):
    """Step 3: the network (pretrained or scratch), its trainable part and the optimizer on the schedule."""
    from src.train.lr_schedule import step_decay

    args = plan.args
    net, trainable = build_network(args, resuming=plan.resume_checkpoint is not None)
    if args.distributed and plan.resume_checkpoint is None:
        check_same_start(net, plan.group)
    schedule = step_decay(args.lr, args.lr_de_rate, args.lr_de_epochs, args.num_epochs, steps, args.lr_min)
    return net, build_optimizer(args, trainable, schedule), schedule


def restore(plan, net, optimizer, schedule, steps):
    """Step 4 (resume only): weights and optimizer state from the run's newest checkpoint."""
    import mindspore as ms

    from src.checkpoints.checkpoint import read_checkpoint
    from src.train.lr_schedule import epoch_lr

    state = read_checkpoint(plan.resume_checkpoint, "--resume")
    ms.load_param_into_net(net, {p.name: state[p.name] for p in net.get_parameters()}, strict_load=True)
    # the schedule itself is rebuilt from the flags (--num_epochs may have grown); the saved
    # global_step puts the optimizer at the right place in it
    ms.load_param_into_net(optimizer, {k: v for k, v in state.items() if k != "learning_rate"}, strict_load=False)
    step = int(optimizer.global_step.asnumpy().reshape(-1)[0])
    if step != plan.initial_epoch * steps:
        raise TrainingSetupError(f"--resume {plan.resume_checkpoint}: optimizer step {step} does not match epoch "
                                 f"{plan.initial_epoch} x {steps} steps (different --batch_size or data?)")
    print(f"resumed from {plan.resume_checkpoint}: epoch {plan.initial_epoch + 1} starts at lr "
          f"{epoch_lr(schedule, plan.initial_epoch, steps):.6g}", flush=True)


def record_config(plan, data):
    """The run's config.json (a new run only) and the printed configuration block."""
    from src.train.run_folder import print_config, write_config

    config = dict(vars(plan.args))
    config.update({"run_dir": str(plan.run_dir), "amp_level_used": plan.amp_level,
                   "device_target_used": plan.device_target, "rank": plan.rank, "group_size": plan.group,
                   "steps_per_epoch": data.steps, "train_videos": len(data.source),
                   "validation_videos": len(data.validation.samples) if data.validation else 0})
    print_config(config)
    if plan.resume_checkpoint is None:
        write_config(plan.run_dir, config)
    print(f"step size per epoch: {data.steps}", flush=True)


def build_callbacks(plan, net, data, schedule):
    """Step 5: log lines, BN statistics across ranks, epoch checkpoints, held-out validation, metrics.csv
    (this order)."""
    from src.evaluate.video_logits import network_forward, predict_logits
    from src.train.callbacks import (AverageBatchNormStatistics, EpochCheckpoint, HeldOutValidation, RecordMetrics,
                                  TrainLogger)

    from src.checkpoints.checkpoint import make_record

    args = plan.args
    record = make_record(args.arch, args.head, args.mode, args.finetune_num_classes, data.source.labels)
    logger = TrainLogger(data.steps, args.log_every, args.batch_size, schedule)
    callbacks = [logger]
    if args.distributed:  # before the checkpoint and validation: every rank then holds the same model
        callbacks.append(AverageBatchNormStatistics(net, plan.group))
    callbacks.append(EpochCheckpoint(plan.run_dir / CHECKPOINTS, data.steps, args.checkpoint_frequency,
                                     args.checkpoints_num_keep, record))
    validation = None
    if data.validation is not None:
        validation = HeldOutValidation(net, data.validation, plan.run_dir, args.batch_size,
                                       lambda n, s, b: predict_logits(network_forward(n), s, b, num_workers=1),
                                       record)
        callbacks.append(validation)
    callbacks.append(RecordMetrics(plan.run_dir, plan.initial_epoch, logger, schedule, data.steps, args.batch_size,
                                   validation))
    return callbacks


def classification_loss():
    """Mean cross-entropy of logits (N, classes) against int class indices (N,): the original's loss.

    Why not the original's nn.SoftmaxCrossEntropyWithLogits(sparse=True): in MindSpore 2.10 it takes the
    log of the softmax probability, which underflows to 0 once the true class's logit is about 88 below
    the largest, so a loss of 100 (a new or badly initialised classifier, a high learning rate) comes out
    infinite and stops the run. nn.CrossEntropyLoss works from log-softmax: same values otherwise (to
    float rounding), finite always."""
    from mindspore import nn

    return nn.CrossEntropyLoss(reduction="mean")


def fit(plan, net, optimizer, data, callbacks):
    """Step 6: Model.train on uint8 clips scaled on the device."""
    from mindspore.train import DynamicLossScaleManager, Model

    from src.model.network_input import ScaledInput

    loss = classification_loss()
    scale = DynamicLossScaleManager() if plan.amp_level != "O0" else None
    model = Model(ScaledInput(net), loss, optimizer, amp_level=plan.amp_level, loss_scale_manager=scale)
    net.set_train(True)
    model.train(plan.args.num_epochs, data.dataset, callbacks=callbacks, dataset_sink_mode=plan.args.sink_mode,
                initial_epoch=plan.initial_epoch)


def run(args, structural=()):
    start = time.time()
    if args.openI:
        from src.data.openi import copy_out, stage_train
        copy_out_at_end = stage_train(args)
    plan = plan_run(args, structural)
    if plan.initial_epoch >= args.num_epochs:
        print(f"resume: {plan.resume_checkpoint} is epoch {plan.initial_epoch}; --num_epochs {args.num_epochs} "
              "is already done")
        return 0
    data = build_data(plan)
    created = not plan.run_dir.exists()
    with exclusive_output(plan.run_dir, "training run"):
        try:  # a setup that fails leaves no folder behind that would block the next run
            if plan.resume_checkpoint is None:
                prepare(plan.run_dir, args.overwrite)
                write_labels(plan.run_dir, data.source.labels)
            net, optimizer, schedule = build_model(plan, data.steps)
            if plan.resume_checkpoint is not None:
                restore(plan, net, optimizer, schedule, data.steps)
            record_config(plan, data)
        except BaseException:
            if created:
                shutil.rmtree(plan.run_dir, ignore_errors=True)
            raise
        fit(plan, net, optimizer, data, build_callbacks(plan, net, data, schedule))
    print(f"total_time: {time.time() - start:.1f}")
    print("Finished training.", flush=True)
    if args.openI:
        copy_out(copy_out_at_end, args.train_url)
    return 0


def main(args, structural=()):
    """train.py: exit 0 done, 2 for a flag or file that cannot be used, 3 when the loss diverged."""
    from src.train.callbacks import NonFiniteLoss

    try:
        return run(args, structural)
    except (UserError, FileExistsError, FileNotFoundError, RankMismatch) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 2
    except NonFiniteLoss as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 3
