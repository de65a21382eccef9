#!/usr/bin/env bash
# `make demo`: the whole pipeline on a synthetic motion-only action set (about 4 minutes on 2 CPU cores):
#   synthetic videos -> frames -> TV-L1 flow -> split JSON -> fine-tune rgb from Kinetics-400
#   -> fine-tune flow (cross-modality init) -> evaluate rgb, flow and joint -> results table.
# `make demo VIDEO=path` instead prints the Kinetics-400 top-5 for one video/GIF/frame folder.
# Everything goes to ./demo_out (DEMO_OUT overrides); a re-run reuses finished data steps.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh
OUT="${DEMO_OUT:-./demo_out}"
K400_RGB="$OUT/pretrained/i3d_rgb_kinetics400.ckpt"

if [ $# -ge 1 ] && [ -n "$1" ]; then
    [ -e "$1" ] || { echo "error: VIDEO $1: no such file or folder" >&2; exit 2; }   # before any work
    bash scripts/prepare_demo_data.sh "$OUT" --weights-only
    exec "$PYTHON" predict.py "$1" --checkpoint "$K400_RGB"   # class names: recorded in the checkpoint
fi
bash scripts/prepare_demo_data.sh "$OUT"

DATA="$OUT/datasets"
ANNOTATION=$(registry annotation hmdb51)
EPOCHS="${DEMO_EPOCHS:-8}"
# Short fine-tunes: BN running statistics must catch up within 80 steps, hence --bn_momentum 0.9;
# mirroring would turn "move left" into "move right", hence --no-flip.
COMMON=(--finetune_num_classes 4 --train_sample_duration 16 --test_sample_duration 16 --spatial_size 112
        --batch_size 4 --lr 0.001 --lr_de_epochs 4 --bn_momentum 0.9 --no-flip --num_workers 2 --log_every 5
        --finetune_prefixes logits,Mixed_5,Mixed_4)
mkdir -p "$OUT/runs"
for MODE in rgb flow; do
    INIT=$([ "$MODE" = rgb ] && echo "i3d_rgb_kinetics400.ckpt" || echo "i3d_flow_from_rgb_kinetics400.ckpt")
    echo "== train $MODE ($EPOCHS epochs: Mixed_4*, Mixed_5* and logits fine-tuned from $INIT) =="
    rm -rf "$OUT/runs/demo_$MODE"
    "$PYTHON" train.py --dataset hmdb51 --mode "$MODE" --num_epochs "$EPOCHS" --video_path "$DATA/$MODE/hmdb51/jpg" \
        --annotation_path "$DATA/$MODE/hmdb51/annotation/$ANNOTATION" --checkpoint_path "$OUT/pretrained/$INIT" \
        --run_dir "$OUT/runs/demo_$MODE" "${COMMON[@]}" 2>&1 | tee "$OUT/runs/demo_${MODE}_log.txt"
done
echo "== evaluate rgb, flow and joint on the test split =="
"$PYTHON" eval.py --dataset hmdb51 --test_mode joint --num_workers 2 --spatial_size 112 --test_sample_duration 16 \
    --video_path "$DATA/rgb/hmdb51/jpg" --annotation_path "$DATA/rgb/hmdb51/annotation/$ANNOTATION" \
    --video_path_joint_flow "$DATA/flow/hmdb51/jpg" --annotation_path_joint_flow "$DATA/flow/hmdb51/annotation/$ANNOTATION" \
    --rgb_path "$(last_checkpoint "$OUT/runs/demo_rgb")" \
    --flow_path "$(last_checkpoint "$OUT/runs/demo_flow")" --output_dir "$OUT/eval"
"$PYTHON" - "$OUT" <<'PY'
import json, re, sys
from pathlib import Path
out = Path(sys.argv[1])
summary = json.loads((out / "eval" / "summary.json").read_text())
print("\n== demo results (4 classes, chance 0.25; test split, %s) ==" % summary["protocol"])
print(f"{'stream':<8}{'top-1':>8}{'mean class':>12}{'videos':>8}   mean training loss per epoch")
for name in ("rgb", "flow", "joint"):
    s = summary[name]
    losses = ""
    if name != "joint":
        log = (out / "runs" / f"demo_{name}_log.txt").read_text()
        losses = " ".join(f"{float(v):.3f}" for v in re.findall(r"^epoch \d+ mean loss: ([0-9.eE+-]+)", log, re.M))
    print(f"{name:<8}{s['top1']:>8.3f}{s['mean_class_accuracy']:>12.3f}{s['videos']:>8}   {losses}")
print(f"\npredictions, confusion matrices: {out / 'eval'}; runs: {out / 'runs'}")
PY
