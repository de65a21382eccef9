"""train.py's job in named steps: plan (flags final, resume resolved) -> data -> model -> restore -> callbacks -> fit."""
import shutil
import sys
import time
from dataclasses import dataclass

from src.backend.mindspore_log import without_deprecation_lines
from src.common.atomic import exclusive_output
from src.train.distributed import RankMismatch, check_same_start
from src.common.errors import UserError
from src.train.run_folder import CHECKPOINTS, prepare, write_labels
from src.train.plan import TrainingSetupError, plan_run


def build_network(flags, resuming):
    """The network to train and its trainable parameters (fine-tuned from --checkpoint_path or scratch).

    arch, head and bn_momentum come resolved from the plan (src/train/plan.py); a --arch other than the
    pretrained checkpoint's is allowed here, fine-tuning changes the network."""
    from src.model.arch import get, network_kwargs
    from src.checkpoints.checkpoint import describe, load_into, open_checkpoint
    from src.model.finetune import freeze_all_but, parse_prefixes
    from src.model.i3d import build_i3d

    kwargs = dict(network_kwargs(flags.arch, flags.mode, flags.head, flags.bn_momentum),
                  dropout_keep_prob=flags.dropout_keep_prob)
    if not flags.checkpoint_path:
        net = build_i3d(flags.mode, flags.finetune_num_classes, **kwargs)
        return net, net.trainable_params()
    if resuming:  # weights come from the run's checkpoint
        net = build_i3d(flags.mode, flags.finetune_num_classes, **kwargs)
    else:
        params, _ = open_checkpoint(flags.checkpoint_path, "--checkpoint_path")
        mode, _, pretrained_classes = describe(params)
        if mode != flags.mode:
            raise TrainingSetupError(f"--checkpoint_path {flags.checkpoint_path} is a {mode} model but --mode is "
                                     f"{flags.mode} (for flow from RGB weights: pt2ckpt.py --mode flow --rgb_to_flow)")
        if flags.num_classes and pretrained_classes and flags.num_classes != pretrained_classes:
            raise TrainingSetupError(f"--num_classes {flags.num_classes} but --checkpoint_path "
                                     f"{flags.checkpoint_path} has {pretrained_classes} classes")
        net = build_i3d(flags.mode, pretrained_classes or flags.finetune_num_classes, **kwargs)
        load_into(net, params, flags.checkpoint_path, "--checkpoint_path", skip_head=pretrained_classes is None)
        net.replace_logits(flags.finetune_num_classes)
    prefixes = parse_prefixes(flags.finetune_prefixes)
    return net, freeze_all_but(net, prefixes, get(flags.arch).frozen_bn_batch_statistics)


def build_optimizer(flags, params, schedule):
    from mindspore import Tensor, nn

    lr = Tensor(schedule)
    name = flags.optimizer.lower()
    if name == "adam":
        with without_deprecation_lines("FusedSparseAdam"):  # built for sparse gradients, which I3D has none of
            return nn.Adam(params, learning_rate=lr, weight_decay=flags.weight_decay)
    if name == "sgd":
        return nn.SGD(params, learning_rate=lr, momentum=flags.momentum, weight_decay=flags.weight_decay)
    return nn.RMSProp(params, learning_rate=lr, weight_decay=flags.weight_decay)


@dataclass
class TrainData:
    dataset: object          # the batched MindSpore dataset
    source: object           # its ClipDataset (training videos)
    validation: object       # held-out ClipDataset or None
    steps: int               # steps per epoch


FEW_STEPS = 10  # fewer optimizer steps per epoch than this earn a warning


def build_data(plan):
    """Step 2: the training videos (minus a held-out part), the batched pipeline, steps per epoch."""
    from src.data.loader.clip_dataset import ClipDataset
    from src.data.loader.holdout import hold_out
    from src.data.loader.mindspore_dataset import to_mindspore
    from src.train.run_folder import ShardRecord

    flags = plan.flags
    source = ClipDataset(flags.video_path, flags.annotation_path, flags.mode, "training", True,
                         flags.train_sample_duration, flags.spatial_size, flags.seed, flip=flags.flip)
    validation = None
    if flags.val_fraction > 0 and not flags.no_eval:
        source, validation = hold_out(source, flags.val_fraction, flags.seed, flags.test_sample_duration)
    sharded = flags.distributed
    dataset = to_mindspore(source, flags.batch_size, flags.num_workers,
                           num_shards=plan.group if sharded else None, shard_id=plan.rank if sharded else None,
                           start_epoch=plan.initial_epoch,
                           record=ShardRecord(plan.run_dir, source.video_ids, flags.num_epochs) if sharded else None)
    steps = dataset.get_dataset_size()
    if steps == 0:
        raise TrainingSetupError(f"{len(source)} training videos make no full batch of --batch_size {flags.batch_size}"
                                 f"{f' per each of {plan.group} devices' if plan.group > 1 else ''}")
    return TrainData(dataset, source, validation, steps)


def few_steps_warning(flags, steps, videos):
    """A warning (or None) for epochs of very few optimizer steps: a small set trains in few updates, and
    without precise BN the BN running statistics would stay mostly the pretrained ones."""
    if steps >= FEW_STEPS:
        return None
    total = steps * flags.num_epochs
    text = (f"warning: an epoch is only {steps} step{'s' if steps > 1 else ''} ({videos} training videos, "
            f"--batch_size {flags.batch_size}), {total} optimizer steps over {flags.num_epochs} epochs; a smaller "
            f"--batch_size gives more steps per epoch")
    if not flags.precise_bn_clips:
        left = flags.bn_momentum ** total
        text += (f"; without precise BN the running BN statistics would still be {left:.0%} the pretrained ones "
                 "at the end (keep --precise_bn_clips above 0)")
    return text


def build_model(plan, steps):
    """Step 3: the network (pretrained or scratch), its trainable part and the optimizer on the schedule."""
    from src.train.lr_schedule import step_decay

    flags = plan.flags
    net, trainable = build_network(flags, resuming=plan.resume_checkpoint is not None)
    if flags.distributed and plan.resume_checkpoint is None:
        check_same_start(net, plan.group)
    schedule = step_decay(flags.lr, flags.lr_de_rate, flags.lr_de_epochs, flags.num_epochs, steps, flags.lr_min)
    return net, build_optimizer(flags, trainable, schedule), schedule


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
    """The run's config.json (a new run only: the plan as resolved) and the printed configuration block."""
    from src.train.run_folder import print_config, write_config

    config = plan.config(steps_per_epoch=data.steps, train_videos=len(data.source),
                         validation_videos=len(data.validation.samples) if data.validation else 0)
    print_config(config)
    if plan.resume_checkpoint is None:
        write_config(plan.run_dir, config)
    print(f"step size per epoch: {data.steps}", flush=True)
    warning = few_steps_warning(plan.flags, data.steps, len(data.source))
    if warning:
        print(warning, flush=True)


def checkpoint_record(plan):
    """What every checkpoint of this run records: the network, its classes and the clip size it was trained on."""
    from src.checkpoints.checkpoint import make_record

    flags = plan.flags
    return make_record(flags.arch, flags.head, flags.mode, flags.finetune_num_classes, plan.class_names,
                       sample_duration=flags.test_sample_duration or flags.train_sample_duration,
                       spatial_size=flags.spatial_size)


def build_callbacks(plan, net, data, schedule):
    """Step 5: log lines, BN statistics (precise BN; averaged across ranks), epoch checkpoints, held-out
    validation, metrics.csv (this order: the checkpoint and validation see the final statistics)."""
    from src.evaluate.video_logits import network_forward, predict_logits
    from src.train.callbacks import (AverageBatchNormStatistics, EpochCheckpoint, HeldOutValidation,
                                     PreciseBatchNorm, RecordMetrics, TrainLogger)

    flags = plan.flags
    record = checkpoint_record(plan)
    logger = TrainLogger(data.steps, flags.log_every, flags.batch_size, schedule, plan.run_dir / "losses.txt")
    callbacks = [logger]
    if flags.precise_bn_clips:
        callbacks.append(PreciseBatchNorm(net, data.source, flags.batch_size, flags.precise_bn_clips,
                                          flags.checkpoint_frequency, always=data.validation is not None))
    if flags.distributed:  # before the checkpoint and validation: every rank then holds the same model
        callbacks.append(AverageBatchNormStatistics(net, plan.group))
    callbacks.append(EpochCheckpoint(plan.run_dir / CHECKPOINTS, data.steps, flags.checkpoint_frequency,
                                     flags.checkpoints_num_keep, record, network=net))
    validation = None
    if data.validation is not None:
        validation = HeldOutValidation(net, data.validation, plan.run_dir, flags.batch_size,
                                       lambda n, s, b: predict_logits(network_forward(n), s, b, num_workers=1),
                                       record)
        callbacks.append(validation)
    callbacks.append(RecordMetrics(plan.run_dir, plan.initial_epoch, logger, schedule, data.steps, flags.batch_size,
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
    model.train(plan.flags.num_epochs, data.dataset, callbacks=callbacks, dataset_sink_mode=plan.flags.sink_mode,
                initial_epoch=plan.initial_epoch)


def run(args, structural=()):
    start = time.time()
    plan = plan_run(args, structural)
    flags = plan.flags
    print(f"run folder: {plan.run_dir}", flush=True)
    if plan.initial_epoch >= flags.num_epochs:
        print(f"resume: {plan.resume_checkpoint} is epoch {plan.initial_epoch}; --num_epochs {flags.num_epochs} "
              "is already done")
        return 0
    data = build_data(plan)
    created = not plan.run_dir.exists()
    with exclusive_output(plan.run_dir, "training run"):
        try:  # a setup that fails leaves no folder behind that would block the next run
            if plan.resume_checkpoint is None:
                prepare(plan.run_dir, flags.overwrite)
                write_labels(plan.run_dir, plan.class_names)
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
    if flags.openI:
        from src.data.openi import copy_out
        copy_out(flags.save_dir, flags.train_url)
    print(f"run folder: {plan.run_dir}", flush=True)
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
