# Shared by the run_*.sh scripts: the repository, the Python to use, and the seed README's data layout.
# Paths given on the command line are used as they are (relative to where you run the script).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$REPO_ROOT/.venv/bin/python" ]; then PYTHON="$REPO_ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
export ONEDNN_MAX_CPU_ISA="${ONEDNN_MAX_CPU_ISA:-AVX2}"
# The seed layout: $I3D_DATA_ROOT/<mode>/<dataset>/{jpg,annotation/<dataset>_<split>.json}
I3D_DATA_ROOT="${I3D_DATA_ROOT:-./datasets}"
I3D_PRETRAINED_DIR="${I3D_PRETRAINED_DIR:-./pretrained}"

check_dataset() {
    case "$1" in hmdb51|ucf101) ;; *) echo "error: dataset must be hmdb51 or ucf101, got '$1'" >&2; exit 2;; esac
}
check_mode() {
    case "$1" in rgb|flow) ;; *) echo "error: mode must be rgb or flow, got '$1'" >&2; exit 2;; esac
}
default_video_path() { echo "$I3D_DATA_ROOT/$2/$1/jpg"; }            # dataset mode
default_annotation_path() {                                          # dataset mode
    if [ "$1" = hmdb51 ]; then echo "$I3D_DATA_ROOT/$2/$1/annotation/hmdb51_1.json"
    else echo "$I3D_DATA_ROOT/$2/$1/annotation/ucf101_01.json"; fi
}
default_checkpoint() {                                               # mode
    if [ "$1" = rgb ]; then echo "$I3D_PRETRAINED_DIR/i3d_rgb_kinetics400.ckpt"
    else echo "$I3D_PRETRAINED_DIR/i3d_flow_from_rgb_kinetics400.ckpt"; fi
}
require_path() {                                                     # what path how-to-set
    if [ ! -e "$2" ]; then
        echo "error: $1 '$2' does not exist; $3" >&2
        exit 2
    fi
}
