#!/usr/bin/env bash
# The torch TV-L1 on a GPU machine, on 64 distinct real 320x240 pairs shipped in tests/data: pairs/s at
# batch 16/64/256, the path that ran (graph+compiled / compiled / eager) and why, loop iterations per
# batch, host syncs per inner iteration, peak GPU memory and agreement with OpenCV's flow of the same
# pairs. Needs python with torch and numpy only (no MindSpore, no opencv-contrib). Under 5 minutes on
# one GPU. Usage: bash scripts/check_flow_gpu.sh [--device cuda:N] [--eager] [--no_graphs]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
timeout 600 "$PYTHON" bench/check_flow_gpu.py "$@"
