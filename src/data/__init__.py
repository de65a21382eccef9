"""Data path: video decoding, frames, TV-L1 flow, annotations, clip loading."""
