"""Training callbacks: the original's log lines, a clear stop on NaN/inf, epoch checkpoints, validation,
BN statistics averaged over the ranks of a distributed run.

Log lines are exactly the original's (`epoch: 1 step: 56, loss is 14.464891` and
`epoch time: 308488.012 ms, per step time: 5508.715 ms`), printed once per epoch as its sink mode did.
"""
import json
import math
import time
from pathlib import Path

import numpy as np
import mindspore as ms
from mindspore import nn, ops
from mindspore.train import Callback

from src.common.atomic import write_text_atomic
from src.checkpoints.checkpoint import checkpoint_name, checkpoints_in, save_checkpoint_atomic
from src.train.lr_schedule import epoch_lr
from src.evaluate.metrics import accuracy_figures
from src.model.network_input import ScaledInput
from src.train.run_history import MetricsHistory


class NonFiniteLoss(RuntimeError):
    """Training stopped because the loss became NaN or inf."""


def _loss_value(outputs):
    """The loss as np.float32, whose str() is MindSpore's LossMonitor text (`14.464891`, not a float64 repr)."""
    if isinstance(outputs, (tuple, list)):
        outputs = outputs[0]
    if isinstance(outputs, ms.Tensor):
        outputs = outputs.asnumpy()
    return np.float32(np.mean(outputs))


def epoch_lines(epoch, steps, loss, elapsed_ms):
    """The original's two lines per epoch, exactly: MindSpore's LossMonitor and TimeMonitor text."""
    return (f"epoch: {epoch} step: {steps}, loss is {str(np.float32(loss))}\n"
            f"epoch time: {elapsed_ms:.3f} ms, per step time: {elapsed_ms / steps:.3f} ms")


class TrainLogger(Callback):
    """Per-epoch loss/time lines (original format), optional progress lines, NaN/inf stop."""

    def __init__(self, steps_per_epoch, log_every=None, batch_size=1, schedule=None, losses_file=None):
        """log_every None: about 10 progress lines per epoch (at least every 50 steps); 0: none.
        schedule: the learning rate of every global step, to show it.
        losses_file: every step's loss appended as `<global step> <loss>`, the float32 value exactly (its
        shortest repr), so two runs can be compared bit for bit (docs/training.md, "Randomness and reproducibility")."""
        super().__init__()
        self.losses_file = Path(losses_file) if losses_file else None
        self.steps_per_epoch = steps_per_epoch
        self.log_every = min(50, max(1, steps_per_epoch // 10)) if log_every is None else log_every
        self.batch_size = batch_size
        self.schedule = schedule
        self.losses = []

    def lr(self, global_step):
        """The learning rate of 1-based `global_step` (None without a schedule)."""
        if self.schedule is None or not len(self.schedule):
            return None
        return float(self.schedule[min(global_step, len(self.schedule)) - 1])

    def on_train_epoch_begin(self, run_context):
        self.epoch_start = time.time()
        self.epoch_losses = []

    def on_train_step_end(self, run_context):
        cb = run_context.original_args()
        loss = _loss_value(cb.net_outputs)
        epoch, step = cb.cur_epoch_num, (cb.cur_step_num - 1) % self.steps_per_epoch + 1
        if not math.isfinite(loss):
            run_context.request_stop()
            raise NonFiniteLoss(f"loss is {loss} at epoch {epoch} step {step}: training stopped "
                                "(lower --lr, check the input data, or use --amp_level O0)")
        self.last_loss = loss
        self.epoch_losses.append(loss)
        if self.losses_file is not None:
            with open(self.losses_file, "a", encoding="utf-8") as handle:
                handle.write(f"{cb.cur_step_num} {np.format_float_positional(loss, unique=True)}\n")
        if self.log_every and step % self.log_every == 0 and step != self.steps_per_epoch:
            elapsed = time.time() - self.epoch_start
            rate = step * self.batch_size / max(elapsed, 1e-9)
            eta = (self.steps_per_epoch - step) * elapsed / step
            lr = self.lr(cb.cur_step_num)
            print(f"  epoch {epoch} step {step}/{self.steps_per_epoch} loss {loss:.4f}"
                  f"{f' lr {lr:.6g}' if lr is not None else ''} ({rate:.2f} clips/s, epoch ETA {eta:.0f} s)", flush=True)

    def on_train_epoch_end(self, run_context):
        cb = run_context.original_args()
        self.epoch_seconds = time.time() - self.epoch_start
        elapsed_ms = self.epoch_seconds * 1000
        self.losses.append(float(np.mean(self.epoch_losses)))
        print(epoch_lines(cb.cur_epoch_num, self.steps_per_epoch, self.last_loss, elapsed_ms), flush=True)
        # ours after the original's pair, never between them: the last step's loss is one sample
        lr = self.lr(cb.cur_step_num)
        print(f"epoch {cb.cur_epoch_num} mean loss: {self.losses[-1]:.6f}{f', lr {lr:.6g}' if lr is not None else ''}",
              flush=True)


def batch_stat_layers(net):
    """The BatchNorm cells of `net` that normalise with batch statistics in training (frozen deepmind
    layers keep their stored statistics and are left out)."""
    return [cell for _, cell in net.cells_and_names()
            if isinstance(cell, nn.BatchNorm2d) and cell.use_batch_statistics is not False]


def recompute_bn_statistics(net, batches, forward=None):
    """Precise BN: set the running mean/variance of every batch-statistics BN layer of `net` to the mean of
    its batch statistics over `batches` (uint8 clips (N, C, T, H, W)), weighted by batch size.

    MindSpore exposes a layer's batch statistics only through its running-average update
    (running = (1 - w) * running + w * batch, w = cell.momentum, which MindSpore stores as 1 - the
    constructor's momentum); with the running values zeroed before each forward pass they read back as
    running / w. The network is left in training mode with the new statistics. forward: the network behind
    its input step (ScaledInput(net)); keep one across calls, a new cell compiles a new graph."""
    layers = batch_stat_layers(net)
    if not layers:
        return 0
    params = [(cell, cell.moving_mean, cell.moving_variance) for cell in layers]
    sums = [[np.zeros(m.shape, np.float64), np.zeros(v.shape, np.float64)] for _, m, v in params]
    forward = forward or ScaledInput(net)
    net.set_train(True)
    count = 0
    for clips in batches:
        for _, mean, var in params:
            mean.set_data(ms.Tensor(np.zeros(mean.shape, np.float32)))
            var.set_data(ms.Tensor(np.zeros(var.shape, np.float32)))
        forward(ms.Tensor(clips))
        for (cell, mean, var), total in zip(params, sums):
            weight = float(cell.momentum)
            total[0] += mean.asnumpy().astype(np.float64) / weight * len(clips)
            total[1] += var.asnumpy().astype(np.float64) / weight * len(clips)
        count += len(clips)
    for (_, mean, var), (mean_sum, var_sum) in zip(params, sums):
        mean.set_data(ms.Tensor((mean_sum / count).astype(np.float32)))
        var.set_data(ms.Tensor((var_sum / count).astype(np.float32)))
    return len(layers)


class PreciseBatchNorm(Callback):
    """Before every saved checkpoint (and every held-out validation): running BN statistics recomputed over
    training clips of the current network (precise BN, Wu & Johnson 2021, "Rethinking 'Batch' in
    BatchNorm", section 3.1).

    Why: the trained layers normalise with batch statistics while they learn, but eval uses the running
    averages. With BN momentum 0.99 those need hundreds of steps to follow the changing weights; on a small
    set (one or two steps an epoch) they stay mostly the pretrained ones, and a model with a training loss
    near 0 then predicts one class at evaluation. The clips are the training clips of the epoch just
    trained (same random windows, crops and mirrors), a fixed subset of `clips` videos, decoded here."""

    def __init__(self, net, source, batch_size, clips, every=1, always=False):
        """every: the checkpoint frequency (epochs); always: every epoch (a validation follows each)."""
        super().__init__()
        self.net = net
        self.source = source
        self.batch_size = batch_size
        self.clips = min(int(clips), len(source))
        self.every = max(1, every)
        self.always = always
        self.forward = ScaledInput(net)  # one cell: its graph compiles once

    def batches(self, epoch):
        order = np.random.default_rng(np.random.SeedSequence([self.source.seed, 2, 2])).permutation(len(self.source))
        chosen = sorted(order[:self.clips].tolist())
        for start in range(0, len(chosen), self.batch_size):
            yield np.stack([self.source.clip(i, epoch)[0] for i in chosen[start:start + self.batch_size]])

    def on_train_epoch_end(self, run_context):
        cb = run_context.original_args()
        epoch = cb.cur_epoch_num
        if not (self.always or epoch % self.every == 0 or epoch == cb.epoch_num):
            return
        start = time.time()
        layers = recompute_bn_statistics(self.net, self.batches(epoch - 1), self.forward)
        print(f"precise BN: running statistics of {layers} BN layers recomputed over {self.clips} training clips "
              f"({time.time() - start:.1f} s)", flush=True)


def strip_to_network(path, network_names, record):
    """Rewrite checkpoint `path` with the network's tensors only (optimizer moments and step dropped)."""
    from src.checkpoints.checkpoint import RECORD_KEY

    state = ms.load_checkpoint(str(path))
    if all(name in network_names or name == RECORD_KEY for name in state):
        return
    save_checkpoint_atomic([{"name": n, "data": v} for n, v in state.items() if n in network_names], path, record)


class EpochCheckpoint(Callback):
    """i3d-<epoch>_<steps>.ckpt every `frequency` epochs, newest `keep` kept. Only the newest holds the
    optimizer state as well (what --resume continues from); the older ones are rewritten network-only
    (with Adam about 60% of the size when Mixed_5 and the logits train), since eval, export, predict and
    fine-tuning read only the network."""

    def __init__(self, folder, steps_per_epoch, frequency=1, keep=5, record=None, network=None):
        """network: the trained network (its parameter names are what a network-only checkpoint keeps);
        None keeps the optimizer state in every checkpoint."""
        super().__init__()
        self.record = record  # checkpoint.make_record: what the files hold
        self.folder = Path(folder)
        self.steps_per_epoch = steps_per_epoch
        self.frequency = max(1, frequency)
        self.keep = keep
        self.network_names = {p.name for p in network.get_parameters()} if network is not None else None

    def on_train_epoch_end(self, run_context):
        cb = run_context.original_args()
        epoch = cb.cur_epoch_num
        if epoch % self.frequency and epoch != cb.epoch_num:
            return
        save_checkpoint_atomic(cb.train_network, self.folder / checkpoint_name(epoch, self.steps_per_epoch),
                               self.record)
        saved = [path for _, _, path in checkpoints_in(self.folder)]
        for old in saved[:-self.keep] if self.keep > 0 else []:
            old.unlink()
        kept = saved[-self.keep:] if self.keep > 0 else saved
        if self.network_names is not None and len(kept) > 1:  # the previous newest (older ones already are)
            strip_to_network(kept[-2], self.network_names, self.record)


class HeldOutValidation(Callback):
    """Accuracy on videos held out of the training split after every epoch; best.ckpt keeps the best."""

    def __init__(self, net, source, run_dir, batch_size, evaluate, record=None):
        super().__init__()
        self.record = record
        self.net = net
        self.source = source
        self.run_dir = Path(run_dir)
        self.batch_size = batch_size
        self.evaluate = evaluate
        self.best = -1.0
        self.last = None  # the latest epoch's accuracy figures
        best_file = self.run_dir / "best.json"
        if best_file.exists():  # resumed run: keep competing against the earlier best
            self.best = json.loads(best_file.read_text())["accuracy"]

    def on_train_epoch_end(self, run_context):
        cb = run_context.original_args()
        _, logits, labels = self.evaluate(self.net, self.source, self.batch_size)  # leaves the net in eval mode
        self.last = accuracy_figures(logits, labels, len(self.source.labels))
        acc = self.last["top1"]
        self.net.set_train(True)
        improved = acc > self.best
        print(f"validation (held-out training videos, {len(labels)}): epoch {cb.cur_epoch_num} "
              f"accuracy {acc:.4f}{'  (best so far, saved best.ckpt)' if improved else ''}", flush=True)
        if improved:
            self.best = acc
            save_checkpoint_atomic(self.net, self.run_dir / "best.ckpt", self.record)
            write_text_atomic(self.run_dir / "best.json",
                              json.dumps({"epoch": cb.cur_epoch_num, "accuracy": acc, "videos": len(labels)}))


class RecordMetrics(Callback):
    """One metrics.csv row per epoch from what the logger and the validation measured (so it runs after them)."""

    def __init__(self, run_dir, start_epoch, logger, schedule, steps_per_epoch, batch_size, validation=None):
        super().__init__()
        self.history = MetricsHistory(run_dir, start_epoch)
        self.logger = logger
        self.schedule = schedule
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.validation = validation

    def on_train_epoch_end(self, run_context):
        epoch = run_context.original_args().cur_epoch_num
        seconds = self.logger.epoch_seconds
        figures = self.validation.last if self.validation is not None else None
        self.history.append({
            "epoch": epoch, "steps": epoch * self.steps_per_epoch,
            "lr": epoch_lr(self.schedule, epoch - 1, self.steps_per_epoch), "loss": self.logger.losses[-1],
            "val_top1": figures and figures["top1"], "val_top5": figures and figures["top5"],
            "val_mean_class": figures and figures["mean_class_accuracy"], "epoch_seconds": seconds,
            "clips_per_s": self.steps_per_epoch * self.batch_size / max(seconds, 1e-9)})


class AverageBatchNormStatistics(Callback):
    """At each epoch end, replace every rank's BN running statistics by their mean over the ranks.

    Gradients are averaged every step, but each rank updates its running mean/variance from its own
    shard only, so the ranks' checkpoints would differ in them. The running average is linear, so the
    mean over ranks equals the running average of the ranks' mean batch statistics. One AllReduce of
    all statistics together; it must run before the checkpoint and validation callbacks.
    """

    def __init__(self, net, group):
        super().__init__()
        self.params = [p for p in net.get_parameters() if p.name.endswith(("moving_mean", "moving_variance"))]
        self.group = group

    def on_train_epoch_end(self, run_context):
        if not self.params:
            return
        local = [p.asnumpy() for p in self.params]
        flat = np.concatenate([a.reshape(-1) for a in local]).astype(np.float32)
        mean = ops.AllReduce()(ms.Tensor(flat)).asnumpy() / np.float32(self.group)
        offset = 0
        for p, a in zip(self.params, local):
            p.set_data(ms.Tensor(mean[offset:offset + a.size].reshape(a.shape).astype(a.dtype)))
            offset += a.size
