"""argparse types that refuse impossible values up front (`--size 0`, `--num_frames -100`, `--fps inf`),
before any work starts, with argparse's usual one-line error naming the flag and exit status 2.

The one rule for every numeric flag of every tool: the text is plain ASCII (`١٢` or `²` are not numbers
a user means to type), a float is finite (nan and inf pass no range test that can work), and an integer
has an upper bound (by default what MindSpore's int32 arguments hold; tighter where a larger value can
only run out of memory or never end). A value that cannot work is refused here, not discovered later.
"""
import argparse
import math

INT32_MAX = 2**31 - 1
MAX_EPOCHS = 100_000  # the lr schedule holds one float per step of every epoch
MAX_FPS = 1000.0       # frames are repeated to reach --fps: beyond this a video never ends
MAX_JOBS = 4096


def _shown(text):
    """The value as the message shows it: a 5000-digit argument is cut, not printed whole."""
    text = str(text)
    return repr(text if len(text) <= 40 else text[:20] + "..." + text[-10:] + f" ({len(text)} characters)")


def _number(kind, test, wanted):
    def parse(text):
        text = str(text)
        if not text.isascii():
            raise argparse.ArgumentTypeError(f"expected {wanted} in ASCII digits, got {_shown(text)}")
        try:
            value = kind(text)
        except ValueError:  # also a 5000-digit integer (Python's int limit)
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {_shown(text)}") from None
        if (kind is float and not math.isfinite(value)) or not test(value):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {_shown(text)}")
        return value
    parse.__name__ = wanted  # what argparse shows for a malformed value
    return parse


def bounded_int(low, high, wanted):
    """An integer type accepting low..high inclusive."""
    return _number(int, lambda v: low <= v <= high, wanted)


positive_int = bounded_int(1, INT32_MAX, "a positive integer")
non_negative_int = bounded_int(0, INT32_MAX, "an integer >= 0")
epoch_count = bounded_int(1, MAX_EPOCHS, f"a number of epochs 1..{MAX_EPOCHS}")
seed_value = bounded_int(0, 2**32 - 1, "an integer 0..4294967295")
# --n_jobs: -1 or 0 mean every CPU (the original's convention), else that many workers
job_count = bounded_int(-1, MAX_JOBS, f"a worker count 1..{MAX_JOBS} (-1 or 0: all CPUs)")
positive_float = _number(float, lambda v: v > 0, "a positive number")
non_negative_float = _number(float, lambda v: v >= 0, "a number >= 0")
fraction = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
keep_probability = _number(float, lambda v: 0 < v <= 1, "a number in (0, 1]")
jpeg_quality = bounded_int(0, 100, "a JPEG quality 0..100")
# --fps: -1 (the default) keeps the video's own rate; 0 or nan mean nothing, inf never ends
frame_rate = _number(float, lambda v: v == -1 or 0 < v <= MAX_FPS, f"a frame rate in (0, {MAX_FPS:g}] or -1 (keep)")


def ascii_digits(text):
    """True when `text` is one or more ASCII digits (str.isdigit also takes '²' and '١')."""
    return text.isascii() and text.isdigit()


def checked(parse, flag, value):
    """A flag's rule applied where the value did not come through argparse (a library call): the same
    refusal, as a UserError naming the flag."""
    from src.common.errors import UserError

    try:
        return parse(str(value))
    except argparse.ArgumentTypeError as exc:
        raise UserError(f"{flag}: {exc}") from None
