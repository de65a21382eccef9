"""argparse types that refuse impossible values up front (`--size 0`, `--num_frames -100`), before any
work starts, with argparse's usual one-line error and exit status 2."""
import argparse


def _number(kind, test, wanted):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value
    parse.__name__ = wanted  # what argparse shows for a malformed value
    return parse


positive_int = _number(int, lambda v: v > 0, "a positive integer")
non_negative_int = _number(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _number(float, lambda v: v > 0 and v != float("inf"), "a positive number")
non_negative_float = _number(float, lambda v: 0 <= v < float("inf"), "a number >= 0")
fraction = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
keep_probability = _number(float, lambda v: 0 < v <= 1, "a number in (0, 1]")
jpeg_quality = _number(int, lambda v: 0 <= v <= 100, "a JPEG quality 0..100")
