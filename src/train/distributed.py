"""What data-parallel training (train.py --distributed, launched by msrun) adds to a single-device run.

msrun starts one process per device and exports RANK_ID, RANK_SIZE, DEVICE_ID (the local rank) and the
scheduler's address; `mindspore.communication.init()` picks the backend from the device: HCCL on Ascend,
NCCL on GPU and MindSpore's own TCP collectives (mccl) on CPU, which support only AllReduce-sum among
the reductions, so everything here (and AverageBatchNormStatistics in train_callbacks.py) uses sum and
AllGather. MindSpore is imported inside the functions: the CPU speed switch must come first.
"""
import os

import numpy as np


class RankMismatch(RuntimeError):
    """The ranks of one job do not hold the same model."""


def local_device_id(args):
    """The device this process drives: msrun's DEVICE_ID (local rank) when distributed, else --device_id.

    With --device_id every process on a host would take the same GPU/NPU.
    """
    if args.distributed and os.environ.get("DEVICE_ID", "").isdigit():
        return int(os.environ["DEVICE_ID"])
    return args.device_id


def setup_distribution(args):
    """(rank, group size); initialises communication and data parallelism (gradients averaged)."""
    if not args.distributed:
        return 0, 1
    import mindspore as ms
    from mindspore.communication import get_group_size, get_rank, init

    init()
    rank, size = get_rank(), get_group_size()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True, device_num=size)
    return rank, size


def _all_gather(values):
    """(group size, len(values)) float32: every rank's vector, the same on every rank."""
    import mindspore as ms
    from mindspore import ops

    gathered = ops.AllGather()(ms.Tensor(np.asarray(values, np.float32).reshape(1, -1)))
    return gathered.asnumpy()


def check_same_start(net, group):
    """Raise RankMismatch unless every rank starts from bit-identical weights.

    Data parallelism averages gradients, so it keeps whatever difference the ranks start with: a
    different --seed or --checkpoint_path on one host would silently train `group` different heads.
    """
    params = list(net.get_parameters())
    fingerprint = [float(np.asarray(p.asnumpy(), np.float64).sum()) for p in params]
    rows = _all_gather(fingerprint).reshape(group, -1)
    differing = [params[i].name for i in np.flatnonzero((rows != rows[:1]).any(axis=0))]
    if differing:
        raise RankMismatch(f"the ranks start from different weights ({len(differing)} parameters, e.g. "
                           f"{differing[0]}): give every host the same --checkpoint_path and --seed")
