#!/usr/bin/env bash
# HMDB51 or UCF101 from the official downloads to the full dataset layout (frames, flow, split JSON):
#   bash scripts/prepare_dataset.sh hmdb51|ucf101 RAW_DIR [OUT_ROOT] [--n_jobs N] [--dry_run] [--no_flow]
#                                   [--flow_backend auto|opencv|torch] [--flow_device cuda:0]
# Resumable: run the same command again after an interruption. See docs/datasets.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec "$PYTHON" "$REPO_ROOT/prepare_dataset.py" "$@"
