"""A raw video -> the rgb and flow clips the data tools would give for it, without writing a frame tree.

generate_rgb_jpgs stores every frame as a JPEG, convert_rgb_to_flow computes TV-L1 flow from those
stored JPEGs and stores the flow as JPEGs too. The same numbers come out of a video only through the
same round trips, so they happen here in memory: frame -> JPEG -> (RGB, grayscale) -> TV-L1 -> quantised
flow -> JPEG -> the uint8 x/y planes the loader reads.
"""
import cv2
import numpy as np

from src.data.layout import FLOW_BOUND
from src.data.loader.spatial_transforms import center_plan
from src.data.media import iter_video_frames, resize_short_side
from src.prep.flow import encode_flow, flow_file_numbers, tvl1, zero_flow
from src.prep.frames import JPEG_QUALITY, encode_rgb_jpeg


def _decode(data, flags):
    return cv2.imdecode(np.frombuffer(data, np.uint8), flags)


def stored_frames(video, size=240, quality=JPEG_QUALITY, limit=0):
    """[(rgb, gray)] per frame (the first `limit`, 0 = all) as the loader and the flow tool read the stored JPEG."""
    frames = []
    for rgb in iter_video_frames(video):
        data = encode_rgb_jpeg(resize_short_side(rgb, size), quality)
        frames.append((cv2.cvtColor(_decode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB),
                       _decode(data, cv2.IMREAD_GRAYSCALE)))
        if limit and len(frames) == limit:
            break
    return frames


def stored_flow(grays, bound=FLOW_BOUND):
    """[(x, y)] uint8 flow planes as convert_rgb_to_flow stores them (flow k = TV-L1(frame k -> k+1), numbered
    by flow_file_numbers, zero_flow for one frame), quantised with `bound`, through JPEG."""
    n = len(grays)
    fields = [tvl1().calc(prev, cur, None) for prev, cur in zip(grays, grays[1:])] or [zero_flow(grays[0].shape)]
    planes = [None] * n
    for k, field in enumerate(fields, 1):
        stored = tuple(_decode(data, cv2.IMREAD_GRAYSCALE) for data in encode_flow(field, bound))
        for number in flow_file_numbers(k, n):
            planes[number - 1] = stored
    return planes


def video_clips(video, modes=("rgb", "flow"), size=240, crop=224, bound=FLOW_BOUND, num_frames=0,
                quality=JPEG_QUALITY):
    """{mode: uint8 (C, T, crop, crop)} of a video for the streams in `modes`, centre-cropped alike (flow is
    only computed when asked for).

    With num_frames, one frame more is decoded where the video has it: the tools' flow of the last kept
    frame looks at the frame after it."""
    frames = stored_frames(video, size, quality, limit=num_frames + 1 if num_frames else 0)
    keep = num_frames or len(frames)
    plan = center_plan(*frames[0][0].shape[:2], crop, video)
    clips = {}
    if "rgb" in modes:
        clips["rgb"] = np.ascontiguousarray(np.stack([plan.apply(rgb) for rgb, _ in frames[:keep]]).transpose(3, 0, 1, 2))
    if "flow" in modes:
        flow = stored_flow([gray for _, gray in frames], bound)[:keep]
        clips["flow"] = np.stack([np.stack([plan.apply(x), plan.apply(y)]) for x, y in flow], axis=1)
    return clips


def two_stream_clips(video, size=240, crop=224, bound=FLOW_BOUND, num_frames=0, quality=JPEG_QUALITY):
    """(rgb uint8 (3, T, crop, crop), flow uint8 (2, T, crop, crop)) of a video, as predict.py's two streams."""
    clips = video_clips(video, ("rgb", "flow"), size, crop, bound, num_frames, quality)
    return clips["rgb"], clips["flow"]
