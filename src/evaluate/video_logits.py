"""Logits for every video of a ClipDataset, in index order and each video once (eval, validation).

Deterministic and complete: centred window (or the whole video), centre crop, no shuffle, the partial
last batch kept. With several views per video (clips spread over it, three crops), a video's logits
are the mean of its views' logits: still one row per video.
"""
import numpy as np

from src.data.loader.mindspore_dataset import eval_video_ids, to_mindspore


def network_forward(net):
    """numpy clips (N, C, T, H, W) -> numpy logits through a MindSpore network in eval mode, after the
    network input step (uint8 clips scaled, float clips checked)."""
    import mindspore as ms

    from src.model.network_input import as_network_input

    net.set_train(False)
    return lambda clips: net(ms.Tensor(as_network_input(clips))).asnumpy()


def mean_over_views(forward, views, chunk):
    """One video's logits (1, classes): the mean over its views (V, C, T, H, W), `chunk` views per forward."""
    chunk = max(1, int(chunk))
    logits = np.concatenate([np.asarray(forward(views[i:i + chunk])) for i in range(0, len(views), chunk)])
    return logits.mean(axis=0, keepdims=True)


def predict_logits(forward, source, batch_size=8, num_workers=1, on_batch=None):
    """(video ids, logits (N, C) float32, labels (N,)) in the source's index order.

    forward: numpy clips -> numpy logits (network_forward(net), or an exported MINDIR's runner).
    on_batch(step from 1, logits, labels) is called after every batch (eval's per-step lines).
    """
    ids, logits, labels = [], [], []
    views = getattr(source, "views", 1)
    if source.sample_duration == 0 or views > 1:  # clip lengths differ, or a stack of views: one video at a time
        batches = ((clip[None] if views == 1 else clip, np.array([label_])) for clip, label_ in source)
        ids = list(source.video_ids)
    else:
        dataset = to_mindspore(source, batch_size, num_workers=num_workers)
        batches = dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)
        ids = eval_video_ids(source)
    for step, (clips, targets) in enumerate(batches, 1):
        logits.append(mean_over_views(forward, clips, batch_size) if views > 1 else np.asarray(forward(clips)))
        labels.append(np.asarray(targets).reshape(-1))
        if on_batch is not None:
            on_batch(step, logits[-1], labels[-1])
    logits = np.concatenate(logits).astype(np.float32)
    labels = np.concatenate(labels).astype(np.int64)
    if len(ids) != len(logits):
        raise RuntimeError(f"evaluated {len(logits)} clips for {len(ids)} videos")
    return ids, logits, labels
