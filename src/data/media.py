"""Decode videos, GIFs and frame folders into RGB uint8 frames (H, W, 3).

One place for every reader so that the channel order is decided once: everything returned here
is RGB (OpenCV decodes BGR; the pretrained weights expect RGB).
"""
from pathlib import Path

import cv2
import numpy as np

from src.common.errors import VideoReadError
from src.data.layout import contiguous_rgb_frames

GIF_SUFFIXES = {".gif"}


def iter_video_frames(path):
    """Yield the frames of a video file as RGB uint8 arrays, in order (OpenCV, no ffmpeg binary)."""
    path = Path(path)
    if not path.is_file():
        raise VideoReadError(path, "no such file")
    if path.stat().st_size == 0:
        raise VideoReadError(path, "empty file")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoReadError(path, "OpenCV cannot open it (unknown container/codec or corrupt)")
        count = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            count += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        if count == 0:
            raise VideoReadError(path, "no decodable frames")
    finally:
        cap.release()


def declared_frame_count(video):
    """The frame count the container declares (0 when it does not say)."""
    cap = cv2.VideoCapture(str(video))
    try:
        return max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))) if cap.isOpened() else 0
    finally:
        cap.release()


def refuse_truncated(video, decoded, declared, allow_truncated=False):
    """The one rule for a cut video (every tool that decodes videos applies it): fewer frames decoded than
    the container declares is an error naming the file, unless the user said --allow_truncated."""
    if decoded < declared and not allow_truncated:
        raise VideoReadError(video, f"truncated or corrupt: decoded {decoded} of the {declared} frames its header "
                                    "declares (--allow_truncated keeps the frames that decode)")


def complete_video_frames(video, allow_truncated=False):
    """iter_video_frames, then refuse_truncated once the last frame is read (the frames already yielded
    stay the caller's to discard: writers use a temporary name)."""
    declared = declared_frame_count(video)
    decoded = 0
    for decoded, rgb in enumerate(iter_video_frames(video), 1):
        yield rgb
    refuse_truncated(video, decoded, declared, allow_truncated)


def read_gif_frames(path):
    """All frames of a GIF as RGB uint8 arrays (Pillow resolves the palette and frame disposal)."""
    from PIL import Image, ImageSequence

    try:
        with Image.open(path) as im:
            frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    except (OSError, ValueError) as exc:
        raise VideoReadError(path, f"cannot decode GIF ({exc})") from exc
    if not frames:
        raise VideoReadError(path, "GIF has no frames")
    return frames


def scaled_size(width, height, size):
    """(width, height) with the short side = size and the aspect ratio kept (long side rounded)."""
    if width <= height:
        return size, max(1, round(height * size / width))
    return max(1, round(width * size / height)), size


def resize_short_side(rgb, size):
    """Scale a frame so its short side is `size` (area filter when shrinking); frames already there are kept."""
    h, w = rgb.shape[:2]
    new_w, new_h = scaled_size(w, h, size)
    if (new_w, new_h) == (w, h):
        return rgb
    interp = cv2.INTER_AREA if new_h < h else cv2.INTER_LINEAR
    return cv2.resize(rgb, (new_w, new_h), interpolation=interp)


JPEG_END = b"\xff\xd9"


def image_size(path):
    """(height, width) of an image or GIF from its header alone (no decoding), for checks made before any work."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, UnidentifiedImageError) as exc:
        raise VideoReadError(path, f"not a readable image ({exc})") from None
    return height, width


def decode_image(path, flags=cv2.IMREAD_COLOR):
    """cv2.imread that fails loudly, naming the file: missing, empty, cut short (a JPEG without its end
    marker, which libjpeg would decode with a grey bottom part and only a warning) or undecodable."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise VideoReadError(path, f"missing or unreadable frame ({exc.strerror or exc})") from None
    if not data:
        raise VideoReadError(path, "empty file")
    if Path(path).suffix.lower() in (".jpg", ".jpeg") and not data.rstrip(b"\0").endswith(JPEG_END):
        raise VideoReadError(path, "truncated JPEG (no end marker)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise VideoReadError(path, "not a decodable image")
    return image


def read_image_rgb(path):
    """One JPEG/PNG as an RGB uint8 array; a clear error naming the file when it cannot be decoded."""
    return cv2.cvtColor(decode_image(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def iter_frames(path, allow_truncated=False):
    """Every frame of a video file, a GIF or a frame folder (`image_00001.jpg` ..., without a gap: the
    error names the first missing frame) as RGB uint8, one at a time where the format allows."""
    path = Path(path)
    if path.is_dir():
        return (read_image_rgb(p) for p in contiguous_rgb_frames(path))
    if path.suffix.lower() in GIF_SUFFIXES:
        return iter(read_gif_frames(path))
    return complete_video_frames(path, allow_truncated)


def read_frames(path, allow_truncated=False):
    """Every frame of a video file, a GIF or a frame folder as a list (see iter_frames)."""
    return list(iter_frames(path, allow_truncated))


def write_video(path, frames, fps=25, fourcc="MJPG"):
    """Write RGB frames (any iterable) to a video file with OpenCV (which wants BGR); returns the number written.
    MJPG in an AVI container works with opencv-headless and needs no ffmpeg binary."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    count = 0
    try:
        for rgb in frames:
            if writer is None:
                h, w = rgb.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
                if not writer.isOpened():
                    raise OSError(f"{path}: cv2.VideoWriter cannot write {fourcc}")
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            count += 1
    finally:
        if writer is not None:
            writer.release()
    return count
