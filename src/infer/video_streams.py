"""A raw video -> the rgb and flow clips the data tools would give for it, without writing a frame tree.

generate_rgb_jpgs stores every frame as a JPEG, convert_rgb_to_flow computes TV-L1 flow from those
stored JPEGs and stores the flow as JPEGs too. The same numbers come out of a video only through the
same round trips, so they happen here in memory: frame -> JPEG -> (RGB, grayscale) -> TV-L1 -> quantised
flow -> JPEG -> the uint8 x/y planes the loader reads.

Everything is a stream (one frame in, one frame out, flow one frame behind), so a video of any length
goes through in bounded memory; `video_clips` collects a whole video where a caller needs it at once.
"""
from itertools import chain, islice

import cv2
import numpy as np

from src.data.layout import FLOW_BOUND
from src.data.loader.spatial_transforms import center_plan
from src.data.media import complete_video_frames, resize_short_side
from src.prep.flow import tvl1
from src.prep.flow_files import encode_flow, zero_flow
from src.prep.frames import JPEG_QUALITY, encode_rgb_jpeg


def _decode(data, flags):
    return cv2.imdecode(np.frombuffer(data, np.uint8), flags)


def iter_stored_frames(video, size=240, quality=JPEG_QUALITY, allow_truncated=False):
    """(rgb, gray) per frame as the loader and the flow tool read the stored JPEG; a cut video is refused
    (media.refuse_truncated) once it is read to the end."""
    for rgb in complete_video_frames(video, allow_truncated):
        data = encode_rgb_jpeg(resize_short_side(rgb, size), quality)
        yield cv2.cvtColor(_decode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), _decode(data, cv2.IMREAD_GRAYSCALE)


def opencv_flow_pairs():
    """A pairs function ([firsts], [seconds]) -> [(H, W, 2) float32] over an OpenCV TV-L1 of its own (one
    per video, as convert_rgb_to_flow uses them: src/prep/flow.tvl1 says why)."""
    flow = tvl1()
    return lambda firsts, seconds: [flow.calc(a, b, None) for a, b in zip(firsts, seconds)]


def torch_flow_pairs(device):
    """The project's torch TV-L1 (the same flow, batched) on `device`, as a pairs function."""
    from src.prep.tvl1_torch import tvl1_flow

    return lambda firsts, seconds: list(tvl1_flow(np.stack(firsts), np.stack(seconds), device=device))


def flow_pairs_for(backend="opencv", device=None):
    """(pairs function, pairs per call) of a flow backend as convert_rgb_to_flow names it (opencv, torch,
    auto = torch where torch sees a GPU) and, for torch, its --device."""
    from src.prep.flow import resolve_backend

    chosen = resolve_backend(backend, device)
    if chosen.name == "torch":
        return torch_flow_pairs(chosen.devices[0]), chosen.batch_pairs
    return opencv_flow_pairs(), 8


def _stored_planes(field, bound):
    return tuple(_decode(data, cv2.IMREAD_GRAYSCALE) for data in encode_flow(field, bound))


def iter_stored_flow(pairs_of_grays, bound=FLOW_BOUND, flow_pairs=None, batch_pairs=8):
    """Per frame k, (item_k, (x, y)): the uint8 flow planes convert_rgb_to_flow stores for it (flow k =
    TV-L1(frame k -> k+1), the last frame repeats the last flow, a one-frame video has zero flow),
    quantised with `bound`, through JPEG. `pairs_of_grays` yields (item, gray) per frame; the item comes
    back with its flow, `batch_pairs` frames behind (pairs are handed to flow_pairs, default a fresh
    opencv_flow_pairs(), in batches)."""
    flow_pairs = flow_pairs or opencv_flow_pairs()
    held, last, end = [], None, object()
    for item in chain(pairs_of_grays, [end]):
        if item is not end:
            held.append(item)
        if len(held) > batch_pairs or (item is end and len(held) > 1):
            fields = flow_pairs([g for _, g in held[:-1]], [g for _, g in held[1:]])
            for (done, _), field in zip(held, fields):
                last = _stored_planes(field, bound)
                yield done, last
            held = held[-1:]
    if held:
        yield held[0][0], last if last is not None else _stored_planes(zero_flow(held[0][1].shape), bound)


def iter_stream_frames(video, modes=("rgb", "flow"), size=240, crop=224, bound=FLOW_BOUND, quality=JPEG_QUALITY,
                       allow_truncated=False, num_frames=0, flow_pairs=None, batch_pairs=8):
    """Per frame, {mode: uint8 (C, crop, crop)} for the streams in `modes` (rgb (3, ...), flow x/y (2, ...)),
    centre-cropped alike; flow is only computed when asked for.

    num_frames: only the first N frames; one frame more is decoded where the video has it (the tools' flow
    of the last kept frame looks at the frame after it), and the video is not read to its end (so not
    checked for truncation)."""
    frames = iter_stored_frames(video, size, quality, allow_truncated)
    if num_frames:
        frames = islice(frames, num_frames + 1)
    plan = None

    def cropped(*planes):
        nonlocal plan
        plan = plan or center_plan(*planes[0].shape[:2], crop, video)
        return np.ascontiguousarray(np.stack([plan.apply(p) for p in planes]))

    if "flow" in modes:
        frames = ((rgb, flow) for (rgb, _), flow in iter_stored_flow(((f, f[1]) for f in frames), bound, flow_pairs,
                                                                     batch_pairs))
    else:
        frames = ((rgb, None) for rgb, _ in frames)
    for _, (rgb, flow) in zip(range(num_frames or np.iinfo(np.int64).max), frames):
        out = {"rgb": cropped(*(rgb[..., c] for c in range(3)))} if "rgb" in modes else {}
        if flow is not None:
            out["flow"] = cropped(*flow)
        yield out


def stack_frames(frames, modes):
    """[{mode: (C, H, W)}] -> {mode: (C, T, H, W)}."""
    return {mode: np.stack([f[mode] for f in frames], axis=1) for mode in modes}


def video_clips(video, modes=("rgb", "flow"), size=240, crop=224, bound=FLOW_BOUND, num_frames=0,
                quality=JPEG_QUALITY, allow_truncated=False):
    """{mode: uint8 (C, T, crop, crop)} of a whole video (its first num_frames, 0 = all) for `modes`."""
    return stack_frames(list(iter_stream_frames(video, modes, size, crop, bound, quality, allow_truncated,
                                                num_frames)), modes)


def two_stream_clips(video, size=240, crop=224, bound=FLOW_BOUND, num_frames=0, quality=JPEG_QUALITY):
    """(rgb uint8 (3, T, crop, crop), flow uint8 (2, T, crop, crop)) of a video, as predict.py's two streams."""
    clips = video_clips(video, ("rgb", "flow"), size, crop, bound, num_frames, quality)
    return clips["rgb"], clips["flow"]
