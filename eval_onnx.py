"""Evaluate exported ONNX models (export.py --file_format ONNX) with onnxruntime on eval.py's protocol.

    python eval_onnx.py --dataset hmdb51 --test_mode rgb --video_path DIR --annotation_path JSON --rgb_path M.onnx
Same flags and accuracy lines as eval.py; --device_target GPU uses onnxruntime's CUDA provider where present.
"""
import sys

import src  # noqa: F401  (CPU speed switch before MindSpore runs)
from src.train.config import eval_parser, parse_with_config
from src.evaluate.eval_run import main

if __name__ == "__main__":
    sys.exit(main(parse_with_config(eval_parser()), onnx_lines=True))
