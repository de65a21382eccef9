"""Logits for every video of a ClipDataset, in index order and each video once (eval, validation).

Deterministic and complete: centred window (or the whole video), centre crop, no shuffle, the partial
last batch kept.
"""
import numpy as np

from .loader.mindspore_dataset import eval_video_ids, to_mindspore


def network_forward(net):
    """numpy clips (N, C, T, H, W) -> numpy logits through a MindSpore network in eval mode, after the
    network input step (uint8 clips scaled, float clips checked)."""
    import mindspore as ms

    from .network_input import as_network_input

    net.set_train(False)
    return lambda clips: net(ms.Tensor(as_network_input(clips))).asnumpy()


def predict_logits(forward, source, batch_size=8, num_workers=1, on_batch=None):
    """(video ids, logits (N, C) float32, labels (N,)) in the source's index order.

    forward: numpy clips -> numpy logits (network_forward(net), or an exported MINDIR's runner).
    on_batch(step from 1, logits, labels) is called after every batch (eval's per-step lines).
    """
    ids, logits, labels = [], [], []
    if source.sample_duration == 0:  # whole video: clip lengths differ, one video at a time
        batches = ((clip[None], np.array([label_])) for clip, label_ in source)
        ids = list(source.video_ids)
    else:
        dataset = to_mindspore(source, batch_size, num_workers=num_workers)
        batches = dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)
        ids = eval_video_ids(source)
    for step, (clips, targets) in enumerate(batches, 1):
        logits.append(np.asarray(forward(clips)))
        labels.append(np.asarray(targets).reshape(-1))
        if on_batch is not None:
            on_batch(step, logits[-1], labels[-1])
    logits = np.concatenate(logits).astype(np.float32)
    labels = np.concatenate(labels).astype(np.int64)
    if len(ids) != len(logits):
        raise RuntimeError(f"evaluated {len(logits)} clips for {len(ids)} videos")
    return ids, logits, labels
