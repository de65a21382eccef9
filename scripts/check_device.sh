#!/usr/bin/env bash
# Device check: a short rgb fine-tune + eval on the demo data on GPU or Ascend (CPU works too),
# printing the per-step time and throughput. Needs a MindSpore build for that device.
#   bash scripts/check_device.sh [GPU|Ascend|CPU] [device_id] [epochs]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
TARGET=${1:-GPU}; DEVICE_ID=${2:-0}; EPOCHS=${3:-2}
OUT="${CHECK_OUT:-./check_device_out}"
BATCH=4
bash "$REPO_ROOT/scripts/prepare_demo_data.sh" "$OUT" --no-flow
DATA="$OUT/datasets/rgb/hmdb51"
ANNOTATION=$(registry annotation hmdb51)
rm -rf "$OUT/run"
"$PYTHON" "$REPO_ROOT/train.py" --dataset hmdb51 --mode rgb --device_target "$TARGET" --device_id "$DEVICE_ID" \
    --num_epochs "$EPOCHS" --video_path "$DATA/jpg" --annotation_path "$DATA/annotation/$ANNOTATION" \
    --checkpoint_path "$OUT/pretrained/i3d_rgb_kinetics400.ckpt" --finetune_num_classes 4 \
    --train_sample_duration 16 --test_sample_duration 16 --spatial_size 112 --batch_size $BATCH --lr 0.001 \
    --run_dir "$OUT/run" --num_workers 4 2>&1 | tee "$OUT/train_log.txt"
"$PYTHON" "$REPO_ROOT/eval.py" --dataset hmdb51 --test_mode rgb --device_target "$TARGET" --device_id "$DEVICE_ID" \
    --video_path "$DATA/jpg" --annotation_path "$DATA/annotation/$ANNOTATION" \
    --rgb_path "$(last_checkpoint "$OUT/run")" --spatial_size 112 --test_sample_duration 16 \
    --output_dir "$OUT/eval" 2>&1 | tee "$OUT/eval_log.txt"
"$PYTHON" - "$OUT/train_log.txt" "$BATCH" "$TARGET" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
steps = [float(v) for v in re.findall(r"^epoch time: [0-9.]+ ms, per step time: ([0-9.]+) ms", text, re.M)]
if not steps:
    sys.exit("no 'epoch time' lines in the training log")
last = steps[-1]
print(f"{sys.argv[3]}: per step {last:.1f} ms (first epoch, with compilation: {steps[0]:.1f} ms), "
      f"{int(sys.argv[2]) * 1000 / last:.2f} clips/s of 16x112x112 at batch {sys.argv[2]}")
PY
