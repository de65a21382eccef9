# Shared by the run_*.sh scripts: the repository, the Python to use, and the standard data layout (README, "Data preparation").
# Paths given on the command line are used as they are (relative to where you run the script).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$REPO_ROOT/.venv/bin/python" ]; then PYTHON="$REPO_ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
# The standard layout: $I3D_DATA_ROOT/<mode>/<dataset>/{jpg,annotation/<dataset>_<split>.json}
I3D_DATA_ROOT="${I3D_DATA_ROOT:-./datasets}"
I3D_PRETRAINED_DIR="${I3D_PRETRAINED_DIR:-./pretrained}"

registry() { PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m src.data.datasets "$@"; }  # src/data/datasets.py
last_checkpoint() { PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m src.train.run_folder latest "$1"; }  # RUN_DIR
check_dataset() {
    local known
    known=$(registry names)
    case " $known " in *" $1 "*) ;; *) echo "error: dataset must be one of: $known; got '$1'" >&2; exit 2;; esac
}
check_mode() {
    case "$1" in rgb|flow) ;; *) echo "error: mode must be rgb or flow, got '$1'" >&2; exit 2;; esac
}
default_video_path() { echo "$I3D_DATA_ROOT/$2/$1/jpg"; }            # dataset mode
default_annotation_path() {                                          # dataset mode
    echo "$I3D_DATA_ROOT/$2/$1/annotation/$(registry annotation "$1")"
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
resolve_train_paths() {                                              # dataset mode [video annotation checkpoint]
    # Sets VIDEO_PATH, ANNOTATION_PATH, CHECKPOINT_PATH ('' = from scratch) from the three paths given or the
    # standard layout, and stops with a message naming a missing one.
    if [ $# -ge 5 ]; then
        VIDEO_PATH=$3; ANNOTATION_PATH=$4; CHECKPOINT_PATH=$5
    else
        VIDEO_PATH=$(default_video_path "$1" "$2"); ANNOTATION_PATH=$(default_annotation_path "$1" "$2")
        CHECKPOINT_PATH=${I3D_CHECKPOINT:-$(default_checkpoint "$2")}
    fi
    require_path video_path "$VIDEO_PATH" "prepare the frames (README, Data preparation), set I3D_DATA_ROOT, or pass it"
    require_path annotation_path "$ANNOTATION_PATH" "run hmdb51_json/ucf101_json, set I3D_DATA_ROOT, or pass it"
    if [ -n "$CHECKPOINT_PATH" ] && [ "$CHECKPOINT_PATH" != none ]; then
        require_path checkpoint_path "$CHECKPOINT_PATH" "run scripts/get_pretrained.sh, set I3D_CHECKPOINT, or pass 'none' to train from scratch"
    else
        CHECKPOINT_PATH=""
    fi
}
parse_form() {                                                       # short_n long_n script "$@"
    # SHORT=1 for the short form (exactly short_n positional arguments, then only --flags),
    # SHORT=0 for the original's long form (at least long_n); anything else prints the script's usage.
    local short=$1 long=$2 script=$3
    shift 3
    local next=$((short + 1))
    if [ $# -eq "$short" ] || { [ $# -gt "$short" ] && [[ "${!next}" == --* ]]; }; then
        SHORT=1
    elif [ $# -ge "$long" ]; then
        SHORT=0
    else
        sed -n '2,/^set /p' "$script" | grep '^#' >&2
        exit 2
    fi
}
