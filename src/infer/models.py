"""The networks predict.py runs: one checkpoint, one exported MINDIR, or an rgb and a flow checkpoint.

Each is loaded once and seen the same way, as {stream: f(uint8 or float clips (N, C, T, H, W)) -> logits
(N, classes)}, with the class count, the class names (--labels, checked against the records, else the
records', else a run folder's labels.txt) and a name for the printout.
"""
from dataclasses import dataclass

from src.checkpoints.checkpoint import CheckpointError, check_class_names, load_recorded
from src.infer.inference import read_labels
from src.train.run_folder import labels_beside


@dataclass(frozen=True)
class Networks:
    forwards: dict        # stream -> forward
    num_classes: int
    labels: tuple         # class names, or None
    fixed_clip: tuple = None  # a MINDIR's (C, T, H, W); None for checkpoints

    @property
    def streams(self):
        return tuple(self.forwards)

    def logits(self, clips):
        """{stream: (N, classes)} (+ "joint" = rgb + flow, late fusion as eval.py --test_mode joint)."""
        out = {stream: forward(clips[stream]) for stream, forward in self.forwards.items()}
        if len(out) == 2:
            out["joint"] = out["rgb"] + out["flow"]
        return out

    @property
    def answer(self):
        """The stream whose scores are the prediction: joint with two streams."""
        return "joint" if len(self.forwards) == 2 else self.streams[0]


RECORDED_CROP = ("spatial_size",)
RECORDED_CLIP = ("sample_duration", "train_sample_duration")


def recorded_sizes(records):
    """(crop, clip length) a checkpoint's record gives (training records its --spatial_size and clip length
    there), each None when no record says; the first record that says wins."""
    def first(keys):
        return next((r[k] for r in records for k in keys if isinstance(r.get(k), int) and r[k] > 0), None)

    return first(RECORDED_CROP), first(RECORDED_CLIP)


def class_names(labels_path, num_classes, source, records):
    """--labels (checked against what the checkpoints record), else the recorded names, else the labels.txt
    of the run folder a checkpoint is in; None without any. records: [(checkpoint, its record)]."""
    if labels_path:
        labels = read_labels(labels_path)
        for path, record in records:
            check_class_names(record, labels, path, "--checkpoint", f"--labels {labels_path}")
    else:
        labels = next((r.get("class_names") for _, r in records if r.get("class_names")), None)
        beside = next((found for found in (labels_beside(path) for path, _ in records) if found), None)
        labels = labels or (read_labels(beside) if beside else None)
    if labels is not None and len(labels) != num_classes:
        raise ValueError(f"--labels {labels_path} has {len(labels)} names but the {source} has {num_classes} classes")
    return tuple(labels) if labels is not None else None


def checkpoint_networks(checkpoints, arch=None, head=None, labels_path=None):
    """Networks of {stream: checkpoint path} (one stream, or rgb and flow)."""
    from src.evaluate.video_logits import network_forward

    forwards, records, classes = {}, [], {}
    for stream, (path, flag) in checkpoints.items():
        net, record = load_recorded(path, flag, mode=stream, arch=arch, head=head)
        forwards[stream] = network_forward(net)
        records.append((path, record))
        classes[stream] = (net.num_classes, flag, path)
    counts = {n for n, _, _ in classes.values()}
    if len(counts) > 1:
        (a, fa, pa), (b, fb, pb) = classes.values()
        raise CheckpointError(f"{fa} {pa} has {a} classes but {fb} {pb} has {b}")
    num_classes = counts.pop()
    source = "checkpoints" if len(checkpoints) > 1 else "checkpoint"
    return Networks(forwards, num_classes, class_names(labels_path, num_classes, source, records))


def mindir_network(path, mode, labels_path=None):
    """Networks of an exported MINDIR (fixed clip shape: clips are cut to its T frames, see fit_clip)."""
    from src.deploy.mindir_runner import fit_clip, load_mindir

    model = load_mindir(path)

    def forward(clips):
        return model(clips[:, :, :fit_clip(clips[0], model, mode).shape[1]])

    return Networks({mode: forward}, model.num_classes, class_names(labels_path, model.num_classes,
                                                                     "--mindir model", []), tuple(model.clip_shape))
