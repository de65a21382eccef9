#!/usr/bin/env bash
# Data-parallel training through MindSpore's launcher msrun (the original's argument order; extra arguments go to train.py):
#   bash scripts/run_distribute_train.sh [rank_size] [rank_table_file] [dataset] [mode] [num_epochs] [video_path] [annotation_path] [checkpoint_path] [train.py flags...]
#   bash scripts/run_distribute_train.sh [rank_size] [rank_table_file] [dataset] [mode] [num_epochs]    (paths from the standard data layout)
# rank_size: processes (devices) in the whole job. rank_table_file: not needed (msrun builds the cluster over TCP); an Ascend
# rank table is still accepted and exported as RANK_TABLE_FILE; pass none or - to skip it. Works on CPU, GPU (NCCL), Ascend (HCCL).
# Several hosts: run the same command on every host with NODE_NUM=<hosts> NODE_RANK=<0..NODE_NUM-1> MASTER_ADDR=<host 0> MASTER_PORT=<port>.
# Output: ./output_distribute/<dataset>_<mode>_device<rank>/ per rank (I3D_OUTPUT_DIR), logs ./output_distribute/logs/worker_<rank>.log.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
parse_form 5 8 "${BASH_SOURCE[0]}" "$@"
RANK_SIZE=$1; RANK_TABLE=$2; DATASET=$3; MODE=$4; EPOCHS=$5
check_dataset "$DATASET"; check_mode "$MODE"
if [ "$SHORT" = 0 ]; then
    resolve_train_paths "$DATASET" "$MODE" "$6" "$7" "$8"; shift 8
else
    resolve_train_paths "$DATASET" "$MODE"; shift 5
fi

NODE_NUM=${NODE_NUM:-1}; NODE_RANK=${NODE_RANK:-0}; MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
for pair in "rank_size:$RANK_SIZE" "NODE_NUM:$NODE_NUM" "NODE_RANK:$NODE_RANK"; do
    case "${pair#*:}" in ''|*[!0-9]*) echo "error: ${pair%%:*} must be a whole number, got '${pair#*:}'" >&2; exit 2;; esac
done
if [ "$RANK_SIZE" -lt 1 ] || [ "$NODE_NUM" -lt 1 ] || [ $((RANK_SIZE % NODE_NUM)) -ne 0 ] || [ "$NODE_RANK" -ge "$NODE_NUM" ]; then
    echo "error: rank_size $RANK_SIZE must be a positive multiple of NODE_NUM $NODE_NUM, and NODE_RANK $NODE_RANK below it" >&2
    exit 2
fi
LOCAL_WORKERS=$((RANK_SIZE / NODE_NUM))
if [ "$NODE_NUM" -gt 1 ] && { [ -z "${MASTER_PORT:-}" ] || [ "$MASTER_ADDR" = 127.0.0.1 ]; }; then
    echo "error: with NODE_NUM $NODE_NUM, set MASTER_ADDR (host 0's address) and MASTER_PORT (the same free port) on every host" >&2
    exit 2
fi
case "$RANK_TABLE" in
    none|-|'') unset RANK_TABLE_FILE; RANK_TABLE_ARGS=() ;;
    *) require_path rank_table_file "$RANK_TABLE" "pass none (msrun needs no rank table)"
       export RANK_TABLE_FILE; RANK_TABLE_FILE=$(cd "$(dirname "$RANK_TABLE")" && pwd)/$(basename "$RANK_TABLE")
       RANK_TABLE_ARGS=(--rank_table_file "$RANK_TABLE_FILE") ;;
esac

# msrun starts every worker as `python <script>`, found on PATH: put the chosen interpreter's folder first.
case "$PYTHON" in */*) PATH="$(cd "$(dirname "$PYTHON")" && pwd):$PATH"; export PATH;; esac
MSRUN=${MSRUN:-msrun}
if ! command -v "$MSRUN" > /dev/null || ! command -v python > /dev/null; then
    echo "error: needs msrun (installed with mindspore) and a 'python' with mindspore on PATH; set PYTHON to that python" >&2
    exit 2
fi
MASTER_PORT=${MASTER_PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')}

ulimit -n 65530 2>/dev/null || true
OUTPUT_DIR=${I3D_OUTPUT_DIR:-./output_distribute}
LOG_DIR="$OUTPUT_DIR/logs"
mkdir -p "$LOG_DIR"
export RANK_SIZE
CMD=("$MSRUN" --worker_num="$RANK_SIZE" --local_worker_num="$LOCAL_WORKERS" --master_addr="$MASTER_ADDR"
     --master_port="$MASTER_PORT" --node_rank="$NODE_RANK" --log_dir="$LOG_DIR" --join=True
     --tail_worker_log="${I3D_TAIL_LOG:-$((NODE_RANK * LOCAL_WORKERS))}" "${RANK_TABLE_ARGS[@]}"
     "$REPO_ROOT/train.py" --distributed --device_num="$RANK_SIZE" --dataset="$DATASET" --mode="$MODE"
     --num_epochs="$EPOCHS" --video_path="$VIDEO_PATH" --annotation_path="$ANNOTATION_PATH"
     --checkpoint_path="$CHECKPOINT_PATH" --save_dir="$OUTPUT_DIR/" "$@")
echo "$RANK_SIZE processes ($LOCAL_WORKERS on this host, node $NODE_RANK of $NODE_NUM), master $MASTER_ADDR:$MASTER_PORT"
echo "per-rank logs: $LOG_DIR/worker_<rank>.log; run folders: $OUTPUT_DIR/${DATASET}_${MODE}_device<rank>/"
if [ "${I3D_BACKGROUND:-0}" = 1 ]; then
    nohup "${CMD[@]}" > "$LOG_DIR/msrun.log" 2>&1 &
    echo "running in the background (pid $!), launcher log $LOG_DIR/msrun.log"
else
    "${CMD[@]}" || { rc=$?; echo "error: msrun exit $rc; the last lines of each worker's log:" >&2
                     tail -n 4 "$LOG_DIR"/worker_*.log >&2; exit "$rc"; }
fi
