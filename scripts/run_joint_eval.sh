#!/usr/bin/env bash
# Evaluate rgb, flow and their late fusion in one run (the original's argument order; extra arguments go to eval.py):
#   bash scripts/run_joint_eval.sh [device_id] [dataset] [video_path] [video_path_joint_flow] [annotation_path] [annotation_path_joint_flow] [rgb_path] [flow_path] [eval.py flags...]
# Log: ./joint_eval_log.txt
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if [ $# -lt 8 ]; then
    sed -n '2,4p' "${BASH_SOURCE[0]}" >&2
    exit 2
fi
DEVICE_ID=$1; DATASET=$2; check_dataset "$DATASET"
ARGS=(--device_id="$1" --dataset="$2" --video_path="$3" --video_path_joint_flow="$4" --annotation_path="$5"
      --annotation_path_joint_flow="$6" --rgb_path="$7" --flow_path="$8")
shift 8
echo "evaluation log: ./joint_eval_log.txt"
"$PYTHON" "$REPO_ROOT/eval.py" --test_mode=joint "${ARGS[@]}" "$@" 2>&1 | tee ./joint_eval_log.txt
