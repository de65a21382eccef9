#!/usr/bin/env bash
# Train on one device (the original's argument order; extra arguments go to train.py):
#   bash scripts/run_standalone_train.sh [device_id] [dataset] [mode] [num_epochs] [video_path] [annotation_path] [checkpoint_path] [train.py flags...]
#   bash scripts/run_standalone_train.sh [device_id] [dataset] [mode] [num_epochs]    (paths from the standard data layout)
# Log: ./output_standalone/<dataset>_<mode>_device<id>_log.txt. I3D_BACKGROUND=1 runs it with nohup in the background.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
parse_form 4 7 "${BASH_SOURCE[0]}" "$@"
DEVICE_ID=$1; DATASET=$2; MODE=$3; EPOCHS=$4
check_dataset "$DATASET"; check_mode "$MODE"
if [ "$SHORT" = 0 ]; then
    resolve_train_paths "$DATASET" "$MODE" "$5" "$6" "$7"; shift 7
else
    resolve_train_paths "$DATASET" "$MODE"; shift 4
fi
ulimit -n 65530 2>/dev/null || true
mkdir -p ./output_standalone
LOG="./output_standalone/${DATASET}_${MODE}_device${DEVICE_ID}_log.txt"
CMD=("$PYTHON" "$REPO_ROOT/train.py" --device_id="$DEVICE_ID" --dataset="$DATASET" --mode="$MODE"
     --num_epochs="$EPOCHS" --video_path="$VIDEO_PATH" --annotation_path="$ANNOTATION_PATH"
     --checkpoint_path="$CHECKPOINT_PATH" --save_dir=./output_standalone/ "$@")
echo "training log: $LOG"
if [ "${I3D_BACKGROUND:-0}" = 1 ]; then
    nohup "${CMD[@]}" > "$LOG" 2>&1 &
    echo "running in the background (pid $!)"
else
    set -o pipefail
    "${CMD[@]}" 2>&1 | tee "$LOG"
fi
