"""A random-access clip dataset in plain Python: sample i of epoch e -> (clip, label).

All randomness of a clip comes from a numpy Generator seeded by (seed, epoch, sample index), so a
clip does not depend on which worker process makes it, on the worker count or on forking, and a
run is reproducible from its seed. Keys passed to __getitem__ encode the epoch: key = epoch * N + i.
"""
import numpy as np

from src.data.loader.index import build_index
from src.data.loader.clip_reader import load_clip, load_views
from src.data.loader.temporal_sampling import all_frames, clip_indices, spread_windows


class ClipDataset:
    """Clips of one subset of a frame tree; `train` picks random windows/crops/mirrors, else centred.

    sample_duration 0 means the whole video (eval only: clip lengths then differ between videos).
    Eval with num_clips windows spread over the video and/or num_crops=3 crops gives each video as a
    stack of views, uint8 (views, C, T, H, W), window-major; one view stays a plain clip.
    Iterating it (no MindSpore) yields every video once in index order, eval style, epoch 0.
    Clips are uint8 (C, T, H, W), scaled by the network input step (src/model/network_input.py).
    """

    def __init__(self, video_path, annotation_path, mode, subset, train, sample_duration=64,
                 spatial_size=224, seed=0, flip=True, num_clips=1, num_crops=1):
        if train and not sample_duration:
            raise ValueError("training needs a fixed sample_duration (0 = whole video is for eval)")
        if train and num_clips * num_crops != 1:
            raise ValueError("several views per video are for eval; training draws one random clip")
        if not sample_duration and num_clips != 1:
            raise ValueError("several clips need a fixed sample_duration (0 = the whole video is one clip)")
        self.samples, self.labels = build_index(video_path, annotation_path, subset, mode, spatial_size)
        self.mode = mode
        self.train = train
        self.sample_duration = int(sample_duration)
        self.spatial_size = int(spatial_size)
        self.seed = int(seed)
        self.flip = flip  # training mirror; off for classes that mirroring would swap (left vs right)
        self.num_clips = int(num_clips)
        self.num_crops = int(num_crops)

    @property
    def views(self):
        """Clips per video that eval averages (1 for training and the default protocols)."""
        return self.num_clips * self.num_crops

    def __len__(self):
        return len(self.samples)

    @property
    def video_ids(self):
        """Video ids (JSON keys) in index order, i.e. the order of an unshuffled pass."""
        return [s.video_id for s in self.samples]

    def rng(self, epoch, index):
        """The independent random stream of sample `index` in `epoch`."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, int(epoch), int(index)]))

    def clip(self, index, epoch=0):
        """(clip uint8 (C, T, H, W) or views (V, C, T, H, W), label int32 0-d array) for `index` in `epoch`."""
        sample = self.samples[index]
        if self.views > 1:
            windows = (spread_windows(sample.n_frames, self.sample_duration, self.num_clips) if self.sample_duration
                       else [all_frames(sample.n_frames)])
            clip = load_views(sample.video_dir, windows, self.mode, self.spatial_size, self.num_crops)
            return clip, np.array(sample.label, dtype=np.int32)
        rng = self.rng(epoch, index) if self.train else None
        frames = clip_indices(sample.n_frames, self.sample_duration, rng)
        clip = load_clip(sample.video_dir, frames, self.mode, self.spatial_size, rng, self.flip)
        return clip, np.array(sample.label, dtype=np.int32)

    def __getitem__(self, key):
        epoch, index = divmod(int(key), len(self.samples))
        return self.clip(index, epoch)

    def __iter__(self):
        return (self.clip(i) for i in range(len(self.samples)))
