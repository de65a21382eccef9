#!/usr/bin/env bash
# Evaluate exported ONNX models with onnxruntime (the original's argument order; extra arguments go to eval_onnx.py):
#   bash scripts/run_eval_onnx.sh [rgb|flow] [device_target] [device_id] [dataset] [video_path] [annotation_path] [onnx]
#   bash scripts/run_eval_onnx.sh joint [device_target] [device_id] [dataset] [video_path] [video_path_joint_flow] [annotation_path] [annotation_path_joint_flow] [rgb_onnx] [flow_onnx]
# Log: ./eval_onnx_<test_mode>_log.txt
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
usage() { sed -n '2,5p' "${BASH_SOURCE[0]}" >&2; exit 2; }
[ $# -ge 1 ] || usage
MODE=$1
case "$MODE" in
    rgb|flow) [ $# -ge 7 ] || usage
        ARGS=(--video_path="$5" --annotation_path="$6" --"${MODE}_path"="$7"); N=7;;
    joint) [ $# -ge 10 ] || usage
        ARGS=(--video_path="$5" --video_path_joint_flow="$6" --annotation_path="$7" --annotation_path_joint_flow="$8"
              --rgb_path="$9" --flow_path="${10}"); N=10;;
    *) usage;;
esac
check_dataset "$4"
ARGS+=(--test_mode="$MODE" --device_target="$2" --device_id="$3" --dataset="$4")
shift "$N"
LOG="./eval_onnx_${MODE}_log.txt"
echo "evaluation log: $LOG"
"$PYTHON" "$REPO_ROOT/eval_onnx.py" "${ARGS[@]}" "$@" 2>&1 | tee "$LOG"
