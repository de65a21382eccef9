"""train.py's job: data, network (fine-tune or scratch), optimizer, callbacks, Model.train, resume."""
import json
import sys
import time
from pathlib import Path

from . import datasets
from .distributed import RankMismatch, check_same_start, local_device_id, setup_distribution
from .runtime import configure

AUTO_AMP = {"CPU": "O0", "GPU": "O2", "Ascend": "O3"}
# Settings that define the network and its trainable part: a resumed run keeps the run's own.
STRUCTURAL = ("mode", "dataset", "head", "finetune_num_classes", "finetune_prefixes", "checkpoint_path",
              "spatial_size", "train_sample_duration", "optimizer", "lr", "bn_momentum", "lr_de_rate", "lr_de_epochs",
              "lr_min", "batch_size", "val_fraction", "seed", "flip")


class TrainingSetupError(ValueError):
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
                                     "seed's data layout)")
        if not Path(value).exists():
            raise TrainingSetupError(f"--{flag} {value}: no such file or folder")


def build_network(args, resuming):
    """The network to train and its trainable parameters (fine-tuned from --checkpoint_path or scratch)."""
    from .checkpoint import describe, load_into, read_checkpoint
    from .finetune import freeze_all_but, parse_prefixes
    from .i3d import build_i3d

    kwargs = {"head": args.head, "dropout_keep_prob": args.dropout_keep_prob, "bn_momentum": args.bn_momentum}
    if not args.checkpoint_path:
        net = build_i3d(args.mode, args.finetune_num_classes, **kwargs)
        return net, net.trainable_params()
    if resuming:  # weights come from the run's checkpoint; only the structure is needed here
        net = build_i3d(args.mode, args.finetune_num_classes, **kwargs)
    else:
        params = read_checkpoint(args.checkpoint_path, "--checkpoint_path")
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
    return net, freeze_all_but(net, parse_prefixes(args.finetune_prefixes))


def build_optimizer(args, params, schedule):
    from mindspore import Tensor, nn

    lr = Tensor(schedule)
    name = args.optimizer.lower()
    if name == "adam":
        return nn.Adam(params, learning_rate=lr, weight_decay=args.weight_decay)
    if name == "sgd":
        return nn.SGD(params, learning_rate=lr, momentum=args.momentum, weight_decay=args.weight_decay)
    return nn.RMSProp(params, learning_rate=lr, momentum=args.momentum, weight_decay=args.weight_decay)


def resume_state(args):
    """(run folder, newest epoch checkpoint, its epoch) and the run's own structural settings into args."""
    from .run_folder import default_run_dir, epoch_checkpoints, find_resume_dir

    if args.distributed:  # each rank continues its own <save_dir>/<dataset>_<mode>_device<rank>
        if args.resume != "latest":
            raise TrainingSetupError(f"--resume {args.resume}: with --distributed, pass --resume alone (each rank "
                                     "finds its folder under --save_dir)")
        run_dir = default_run_dir(args.save_dir, args.dataset, args.mode, args.device_id, True)
    else:
        run_dir = find_resume_dir(args.resume, args.save_dir, args.dataset, args.mode, args.device_id)
    ckpts = epoch_checkpoints(run_dir)
    if not ckpts:
        raise TrainingSetupError(f"--resume {run_dir}: no i3d-<epoch>_<steps>.ckpt in {run_dir / 'checkpoints'}")
    epoch, _, path = ckpts[-1]
    config_file = Path(run_dir) / "config.json"
    if config_file.exists():
        saved = json.loads(config_file.read_text())
        for key in STRUCTURAL:
            if key in saved and saved[key] != getattr(args, key):
                print(f"resume: keeping the run's {key}={saved[key]!r} (command line said {getattr(args, key)!r})")
                setattr(args, key, saved[key])
    return Path(run_dir), path, epoch


def run(args):
    start = time.time()
    import mindspore as ms
    from mindspore import nn
    from mindspore.train import DynamicLossScaleManager, Model

    from .checkpoint import read_checkpoint
    from .loader.clip_dataset import ClipDataset
    from .loader.holdout import hold_out
    from .loader.mindspore_dataset import to_mindspore
    from .metrics import network_forward, predict_logits
    from .network_input import ScaledInput
    from .lr_schedule import epoch_lr, step_decay
    from .run_folder import ShardRecord, default_run_dir, prepare, print_config, write_config
    from .train_callbacks import AverageBatchNormStatistics, EpochCheckpoint, HeldOutValidation, TrainLogger

    device_target = configure(args.device_target, args.context, local_device_id(args), args.seed)
    amp_level = resolve_amp(args.amp_level, device_target)
    rank, group = setup_distribution(args)
    if args.distributed:
        args.device_id = rank
        args.save_dir = args.save_dir if args.save_dir != "./output_standalone/" else "./output_distribute/"
    args.finetune_num_classes = args.finetune_num_classes or datasets.get(args.dataset).num_classes

    resume_ckpt, initial_epoch = None, 0
    if args.resume:
        run_dir, resume_ckpt, initial_epoch = resume_state(args)
    else:
        run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(
            args.save_dir, args.dataset, args.mode, args.device_id, args.distributed)
    require_paths(args)
    if initial_epoch >= args.num_epochs:
        print(f"resume: {resume_ckpt} is epoch {initial_epoch}; --num_epochs {args.num_epochs} is already done")
        return 0

    source = ClipDataset(args.video_path, args.annotation_path, args.mode, "training", True,
                         args.train_sample_duration, args.spatial_size, args.seed, flip=args.flip)
    if len(source.labels) != args.finetune_num_classes:
        raise TrainingSetupError(f"--annotation_path {args.annotation_path} has {len(source.labels)} classes but "
                                 f"--finetune_num_classes is {args.finetune_num_classes}")
    validation = None
    if args.val_fraction > 0 and not args.no_eval:
        source, validation = hold_out(source, args.val_fraction, args.seed, args.test_sample_duration)
    dataset = to_mindspore(source, args.batch_size, args.num_workers,
                           num_shards=group if args.distributed else None,
                           shard_id=rank if args.distributed else None, start_epoch=initial_epoch,
                           record=ShardRecord(run_dir, source.video_ids, args.num_epochs) if args.distributed else None)
    steps = dataset.get_dataset_size()
    if steps == 0:
        raise TrainingSetupError(f"{len(source)} training videos make no full batch of --batch_size {args.batch_size}"
                                 f"{f' per each of {group} devices' if group > 1 else ''}")

    if not args.resume:
        prepare(run_dir, args.overwrite)
    net, trainable = build_network(args, resuming=bool(args.resume))
    if args.distributed and resume_ckpt is None:
        check_same_start(net, group)
    schedule = step_decay(args.lr, args.lr_de_rate, args.lr_de_epochs, args.num_epochs, steps, args.lr_min)
    optimizer = build_optimizer(args, trainable, schedule)
    if resume_ckpt is not None:
        state = read_checkpoint(resume_ckpt, "--resume")
        ms.load_param_into_net(net, {p.name: state[p.name] for p in net.get_parameters()}, strict_load=True)
        # the schedule itself is rebuilt from the flags (--num_epochs may have grown); the saved
        # global_step puts the optimizer at the right place in it
        ms.load_param_into_net(optimizer, {k: v for k, v in state.items() if k != "learning_rate"},
                               strict_load=False)
        step = int(optimizer.global_step.asnumpy().reshape(-1)[0])
        if step != initial_epoch * steps:
            raise TrainingSetupError(f"--resume {resume_ckpt}: optimizer step {step} does not match epoch "
                                     f"{initial_epoch} x {steps} steps (different --batch_size or data?)")
        print(f"resumed from {resume_ckpt}: epoch {initial_epoch + 1} starts at lr "
              f"{epoch_lr(schedule, initial_epoch, steps):.6g}", flush=True)

    config = {k: v for k, v in vars(args).items()}
    config.update({"run_dir": str(run_dir), "amp_level_used": amp_level, "device_target_used": device_target,
                   "rank": rank, "group_size": group, "steps_per_epoch": steps, "train_videos": len(source),
                   "validation_videos": len(validation.samples) if validation else 0})
    print_config(config)
    if not args.resume:
        write_config(run_dir, config)
    print(f"step size per epoch: {steps}", flush=True)

    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    scale = DynamicLossScaleManager() if amp_level != "O0" else None
    model = Model(ScaledInput(net), loss, optimizer, amp_level=amp_level, loss_scale_manager=scale)
    callbacks = [TrainLogger(steps, args.log_every, args.batch_size)]
    if args.distributed:  # before the checkpoint and validation: every rank then holds the same model
        callbacks.append(AverageBatchNormStatistics(net, group))
    callbacks += [EpochCheckpoint(run_dir / "checkpoints", steps, args.checkpoint_frequency, args.checkpoints_num_keep)]
    if validation is not None:
        callbacks.append(HeldOutValidation(net, validation, run_dir, args.batch_size,
                                           lambda n, s, b: predict_logits(network_forward(n), s, b, num_workers=1)))
    net.set_train(True)
    model.train(args.num_epochs, dataset, callbacks=callbacks, dataset_sink_mode=args.sink_mode,
                initial_epoch=initial_epoch)
    print(f"total_time: {time.time() - start:.1f}")
    print("Finished training.", flush=True)
    return 0


def main(args):
    from .checkpoint import CheckpointError
    from .loader.index import DatasetIndexError
    from .train_callbacks import NonFiniteLoss

    try:
        return run(args)
    except (TrainingSetupError, CheckpointError, DatasetIndexError, FileExistsError, FileNotFoundError,
            RankMismatch) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 2
    except NonFiniteLoss as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 3
