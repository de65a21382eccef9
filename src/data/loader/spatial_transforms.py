"""Where a clip is cropped and whether it is mirrored: decided once per clip, applied to every frame.

One crop for all frames (and for flow x and y together) keeps the motion between frames intact;
a mirrored flow clip also negates x. Frames smaller than the crop are an error, not an upscale:
it means the frames were extracted at the wrong size.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from src.common.errors import UserError


class CropDoesNotFit(UserError, ValueError):
    """Frames smaller than the crop (a one-line error; the message names the frames and the flag)."""


@dataclass(frozen=True)
class CropPlan:
    """A square crop (top, left, size) and a mirror decision shared by all frames of a clip."""

    top: int
    left: int
    size: int
    flip: bool = False

    def apply(self, image):
        """Crop one frame (H, W[, C]) and mirror it left-right if the plan says so."""
        crop = image[self.top:self.top + self.size, self.left:self.left + self.size]
        return cv2.flip(crop, 1) if self.flip else crop


def check_fits(height, width, size, where, flag=None):
    """The rule every tool applies, before any work where it can: `height` x `width` frames must hold the
    `size` square crop. `where` names the frames (a file or folder), `flag` the flag that set the crop
    (--spatial_size for train/eval, --crop for predict/extract_features), so the message says what to change."""
    if min(height, width) >= size:
        return
    setting, fix = (f" ({flag} {size})", f"use {flag} {min(height, width)} or less") if flag else ("", "use a smaller crop")
    raise CropDoesNotFit(f"{where}: frames are {width}x{height}, smaller than the {size}x{size} crop{setting}; {fix}, "
                         "or extract the frames at a larger size")


def random_plan(height, width, size, rng, where="", flip=True):
    """Train: uniform crop position (all positions inclusive) and a fair-coin mirror (none with flip=False).

    The coin is drawn either way, so turning mirroring off leaves the crop positions of a seed unchanged.
    """
    check_fits(height, width, size, where)
    top = int(rng.integers(0, height - size + 1))
    left = int(rng.integers(0, width - size + 1))
    return CropPlan(top, left, size, bool(rng.random() < 0.5) and flip)


def center_plan(height, width, size, where=""):
    """Eval: offsets round((H-s)/2), round((W-s)/2) as in the original (8 and 48 for 240x320 -> 224)."""
    check_fits(height, width, size, where)
    return CropPlan(int(round((height - size) / 2)), int(round((width - size) / 2)), size)


def view_plans(height, width, size, num_crops, where=""):
    """Multi-view eval: 1 = the centre crop; 3 = both ends and the centre of the longer side (left, centre,
    right for landscape frames, top, centre, bottom for portrait ones), never mirrored."""
    centre = center_plan(height, width, size, where)
    if num_crops == 1:
        return [centre]
    if num_crops != 3:
        raise ValueError(f"num_crops must be 1 or 3, got {num_crops}")
    if width >= height:
        return [CropPlan(centre.top, 0, size), centre, CropPlan(centre.top, width - size, size)]
    return [CropPlan(0, centre.left, size), centre, CropPlan(height - size, centre.left, size)]


def invert_flow_x(x_frames):
    """In place 255 - x on uint8 flow x frames of a mirrored clip (that is -x after scaling to [-1, 1]).

    A mirrored scene moves the other way horizontally.
    """
    np.subtract(255, x_frames, out=x_frames)
