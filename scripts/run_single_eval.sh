#!/usr/bin/env bash
# Evaluate one stream (the original's argument order; extra arguments go to eval.py):
#   bash scripts/run_single_eval.sh [device_id] [mode] [dataset] [ckpt_path] [video_path] [annotation_path] [eval.py flags...]
#   bash scripts/run_single_eval.sh [device_id] [mode] [dataset] [ckpt_path]    (paths from the standard data layout)
# Log: ./single_eval_<mode>_log.txt
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
parse_form 4 6 "${BASH_SOURCE[0]}" "$@"
DEVICE_ID=$1; MODE=$2; DATASET=$3; CKPT=$4
check_dataset "$DATASET"; check_mode "$MODE"
if [ "$SHORT" = 0 ]; then
    VIDEO_PATH=$5; ANNOTATION_PATH=$6; shift 6
else
    VIDEO_PATH=$(default_video_path "$DATASET" "$MODE"); ANNOTATION_PATH=$(default_annotation_path "$DATASET" "$MODE"); shift 4
fi
require_path ckpt_path "$CKPT" "pass the checkpoint to evaluate"
require_path video_path "$VIDEO_PATH" "set I3D_DATA_ROOT or pass it"
require_path annotation_path "$ANNOTATION_PATH" "set I3D_DATA_ROOT or pass it"
LOG="./single_eval_${MODE}_log.txt"
echo "evaluation log: $LOG"
"$PYTHON" "$REPO_ROOT/eval.py" --device_id="$DEVICE_ID" --test_mode="$MODE" --dataset="$DATASET" \
    --"${MODE}_path"="$CKPT" --video_path="$VIDEO_PATH" --annotation_path="$ANNOTATION_PATH" "$@" 2>&1 | tee "$LOG"
