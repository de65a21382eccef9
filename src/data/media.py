"""Decode videos, GIFs and frame folders into RGB uint8 frames (H, W, 3).

One place for every reader so that the channel order is decided once: everything returned here
is RGB (OpenCV decodes BGR; the pretrained weights expect RGB).
"""
from pathlib import Path

import cv2
import numpy as np

from src.common.errors import VideoReadError
from src.data.layout import RGB_FRAME_PATTERN, rgb_frame_paths

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


def read_frames(path):
    """Every frame of a video file, a GIF or a frame folder (`image_00001.jpg` ...) as RGB uint8."""
    path = Path(path)
    if path.is_dir():
        paths = rgb_frame_paths(path)
        if not paths:
            raise VideoReadError(path, f"folder holds no {RGB_FRAME_PATTERN} frames")
        return [read_image_rgb(p) for p in paths]
    if path.suffix.lower() in GIF_SUFFIXES:
        return read_gif_frames(path)
    return list(iter_video_frames(path))
