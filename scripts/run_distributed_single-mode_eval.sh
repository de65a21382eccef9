#!/usr/bin/env bash
# Evaluate every epoch checkpoint of a run from epoch ckpt_start_id on, one after another (the original's argument
# order; extra arguments go to eval.py):
#   bash scripts/run_distributed_single-mode_eval.sh [ckpt_start_id] [mode] [dataset] [annotation_path] [video_path] [output_ckpt_path] [train_steps]
# output_ckpt_path: a run folder or its checkpoints/ folder with i3d-<epoch>_<train_steps>.ckpt.
# Output: ./output_eval/<checkpoint>.log per checkpoint and ./output_eval/summary.txt, one line per checkpoint,
# the best marked with "<- best".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if [ $# -lt 7 ]; then sed -n '2,7p' "${BASH_SOURCE[0]}" >&2; exit 2; fi
START=$1; MODE=$2; DATASET=$3; ANNOTATION=$4; VIDEO=$5; CKPT_DIR=$6; STEPS=$7
shift 7
check_dataset "$DATASET"; check_mode "$MODE"
[ -d "$CKPT_DIR/checkpoints" ] && CKPT_DIR="$CKPT_DIR/checkpoints"
require_path output_ckpt_path "$CKPT_DIR" "pass the run folder"
OUT=./output_eval
mkdir -p "$OUT"
: > "$OUT/summary.txt.partial"
found=0
for ckpt in $(ls "$CKPT_DIR" | grep -E "^i3d-[0-9]+_${STEPS}\.ckpt$" | sort -t- -k2 -n); do
    epoch=${ckpt#i3d-}; epoch=${epoch%%_*}
    [ "$epoch" -ge "$START" ] || continue
    found=1
    "$PYTHON" "$REPO_ROOT/eval.py" --test_mode="$MODE" --dataset="$DATASET" --"${MODE}_path"="$CKPT_DIR/$ckpt" \
        --video_path="$VIDEO" --annotation_path="$ANNOTATION" --output_dir="$OUT/${ckpt%.ckpt}" "$@" > "$OUT/${ckpt%.ckpt}.log" 2>&1 \
        || { echo "error: eval of $ckpt failed, see $OUT/${ckpt%.ckpt}.log" >&2; exit 1; }
    line="checkpoint: $CKPT_DIR/$ckpt   $(grep "^$MODE accuracy: " "$OUT/${ckpt%.ckpt}.log")"
    echo "$line"
    echo "$line" >> "$OUT/summary.txt.partial"
done
if [ "$found" = 0 ]; then echo "error: no i3d-<epoch>_${STEPS}.ckpt with epoch >= $START in $CKPT_DIR" >&2; exit 2; fi
awk '{acc=$NF} NR==1||acc>best{best=acc; n=NR} {lines[NR]=$0} END{for(i=1;i<=NR;i++) print lines[i] (i==n ? "   <- best" : "")}' \
    "$OUT/summary.txt.partial" > "$OUT/summary.txt"
rm -f "$OUT/summary.txt.partial"
echo "summary: $OUT/summary.txt ($(grep -c . "$OUT/summary.txt") checkpoints; best: $(grep -- '<- best' "$OUT/summary.txt" | cut -d' ' -f2))"
