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
from mindspore import ops
from mindspore.train import Callback

from src.checkpoints.checkpoint import save_checkpoint_atomic
from src.common.atomic import write_text_atomic
from src.train.lr_schedule import epoch_lr
from src.evaluate.metrics import accuracy_figures
from src.train.run_folder import checkpoint_name, checkpoints_in
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

    def __init__(self, steps_per_epoch, log_every=None, batch_size=1, schedule=None):
        """log_every None: about 10 progress lines per epoch (at least every 50 steps); 0: none.
        schedule: the learning rate of every global step, to show it."""
        super().__init__()
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


class EpochCheckpoint(Callback):
    """i3d-<epoch>_<steps>.ckpt every `frequency` epochs (network + optimizer state), newest `keep` kept."""

    def __init__(self, folder, steps_per_epoch, frequency=1, keep=16, record=None):
        super().__init__()
        self.record = record  # checkpoint.make_record: what the files hold
        self.folder = Path(folder)
        self.steps_per_epoch = steps_per_epoch
        self.frequency = max(1, frequency)
        self.keep = keep

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
