"""Command-line flags, defined once and shared by train.py and eval.py (the original's names).

Booleans are real flags (`--sink_mode`, `--no-sink_mode`, or `--sink_mode false`), never
argparse's `type=bool`, for which any non-empty string (even "False") is true.
"""
import argparse
from pathlib import Path

from src.model.arch import NAMES as ARCH_NAMES
from src.data.datasets import NAMES as DATASET_NAMES
from src.common.errors import UserError
from src.common.flag_types import (epoch_count, fraction, keep_probability, non_negative_float, non_negative_int, positive_float,
                         positive_int, seed_value)
from src.data.layout import MODES
from src.data.loader.index import SUBSET_ALIASES
from src.backend.runtime import DEVICE_TARGETS

AMP_LEVELS = ("auto", "O0", "O1", "O2", "O3")


def structural(*actions):
    """Mark flags that define the network or how it is trained: a resumed run keeps the run's own value."""
    for action in actions:
        action.structural = True
    return actions[0] if len(actions) == 1 else actions


def structural_flags(parser):
    """The destinations of the flags marked structural, in definition order."""
    return list(dict.fromkeys(a.dest for a in parser._actions if getattr(a, "structural", False)))


def str2bool(text):
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on", "y", "t"):
        return True
    if value in ("0", "false", "no", "off", "n", "f"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (true/false), got {text!r}")


def add_bool(parser, name, default, help_text):
    """--name, --no-name and --name=false all work."""
    return (parser.add_argument(f"--{name}", nargs="?", const=True, default=default, type=str2bool, help=help_text),
            parser.add_argument(f"--no-{name}", dest=name, action="store_false", help=f"turn off --{name}"))


def add_runtime_args(p):
    p.add_argument("--config", default=None,
                   help="YAML recipe (configs/*.yaml) or a run folder's config.json: its values are the defaults, "
                        "flags given on the command line win")
    p.add_argument("--context", default="gr", choices=("gr", "py"), help="gr = GRAPH mode, py = PYNATIVE")
    p.add_argument("--device_target", default=None, choices=DEVICE_TARGETS,
                   help="default: the device the installed MindSpore runs on")
    p.add_argument("--device_id", type=non_negative_int, default=0)
    p.add_argument("--num_workers", type=positive_int, default=2, help="data loader workers")
    structural(p.add_argument("--seed", type=seed_value, default=2022))
    structural(p.add_argument("--arch", default=None, choices=ARCH_NAMES,
                   help="deepmind: DeepMind's I3D; original: the original port's network (BGR input, BN eps 1e-5 "
                        "with a trained scale, global max head). Default: the checkpoint's, else deepmind"))
    structural(p.add_argument("--head", default=None, choices=("avg", "max"),
                   help="avg: DeepMind's head; max: the original port's global max pool (default: the arch's)"))


def add_data_args(p, dataset_required, spatial_size=224, spatial_help="crop size (frame height and width)"):
    structural(p.add_argument("--dataset", required=dataset_required, choices=DATASET_NAMES))
    p.add_argument("--video_path", default=None, help="frame tree <root>/<class>/<video>/")
    p.add_argument("--annotation_path", default=None, help="annotation JSON (hmdb51_1.json, ucf101_01.json)")
    structural(p.add_argument("--spatial_size", type=positive_int, default=spatial_size, help=spatial_help))
    structural(p.add_argument("--batch_size", type=positive_int, default=8, help="per device"))
    p.add_argument("--num_classes", type=positive_int, default=None,
                   help="classes of the loaded checkpoint's head (default: read from the checkpoint)")
    p.add_argument("--dropout_keep_prob", type=keep_probability, default=0.5)


def train_parser():
    p = argparse.ArgumentParser(description="Fine-tune (or train) I3D on HMDB51/UCF101 frames.")
    add_data_args(p, dataset_required=True)
    structural(p.add_argument("--mode", required=True, choices=MODES))
    p.add_argument("--save_dir", default=None,
                   help="where run folders go (default: ./output_standalone/, with --distributed ./output_distribute/)")
    p.add_argument("--run_dir", default=None,
                   help="this run's folder (default: <save_dir>/<YYYYmmdd_HHMM>_<dataset>_<mode>_device<id>)")
    p.add_argument("--overwrite", action="store_true", help="allow reusing a non-empty --run_dir")
    p.add_argument("--resume", nargs="?", const="latest", default=None,
                   help="continue the run in RUN_DIR (or the newest run for this dataset/mode/device under "
                        "--save_dir) from its newest checkpoint, at the right epoch and learning rate")
    p.add_argument("--num_val_samples", type=non_negative_int, default=1, help="(kept for compatibility; unused)")
    structural(p.add_argument("--train_sample_duration", type=positive_int, default=64))
    p.add_argument("--test_sample_duration", type=non_negative_int, default=64, help="validation window (frames)")
    structural(p.add_argument("--checkpoint_path", default="", help="pretrained checkpoint (e.g. Kinetics-400)"))
    structural(p.add_argument("--finetune_num_classes", type=positive_int, default=None,
                   help="classes to fine-tune to (default: as many as the annotation JSON lists: 51 for hmdb51, "
                        "101 for ucf101; given, it must agree with the JSON)"))
    structural(p.add_argument("--finetune_prefixes", default="logits,Mixed_5",
                   help="comma-separated endpoint prefixes that are trained; the rest is frozen"))
    structural(p.add_argument("--optimizer", default="adam", choices=("adam", "SGD", "sgd", "rmsprop")))
    structural(p.add_argument("--lr", type=positive_float, default=0.01))
    structural(p.add_argument("--bn_momentum", type=fraction, default=None,
                   help="weight of the old BN running value (default: the arch's, deepmind 0.99 = PyTorch 0.01, "
                        "original 0.1); lower it for short fine-tunes so the running statistics catch up"))
    structural(p.add_argument("--precise_bn_clips", type=non_negative_int, default=200,
                   help="precise BN: before every saved checkpoint and validation, the running BN statistics of the "
                        "layers that normalise with batch statistics are recomputed as the mean over this many "
                        "training clips (at most the training set) of the current network; 0 = off (running averages "
                        "with --bn_momentum only, which on a small set stay mostly the pretrained statistics)"))
    structural(p.add_argument("--lr_de_rate", type=positive_float, default=0.5))
    structural(p.add_argument("--lr_de_epochs", type=positive_int, default=5))
    structural(p.add_argument("--lr_min", type=non_negative_float, default=0.0, help="learning-rate floor of the step decay"))
    p.add_argument("--momentum", type=non_negative_float, default=0.9, help="SGD momentum (RMSProp runs without, as the original)")
    p.add_argument("--weight_decay", type=non_negative_float, default=1e-8)
    p.add_argument("--start_epoch", type=non_negative_int, default=0, help="(kept for compatibility; see --resume)")
    p.add_argument("--num_epochs", type=epoch_count, default=32)
    p.add_argument("--checkpoint_frequency", type=positive_int, default=1, help="save every N epochs")
    p.add_argument("--checkpoints_num_keep", type=non_negative_int, default=5,
                   help="keep the newest N epoch checkpoints (0 = all); only the newest holds the optimizer state "
                        "(for --resume), the others the network alone (the original kept 16 full ones)")
    structural(p.add_argument("--val_fraction", type=fraction, default=0.0,
                   help="hold out this fraction of the TRAINING split (per class) to validate after each "
                        "epoch and keep best.ckpt; the test split is never used for choosing"))
    structural(*add_bool(p, "flip", True, "random horizontal mirroring in training; turn it off (--no-flip) when mirroring "
                              "changes the class (e.g. moving left vs right)"))
    p.add_argument("--log_every", type=non_negative_int, default=None,
                   help="a progress line (loss, lr, clips/s, epoch ETA) every N steps; default: about 10 per epoch, "
                        "at least every 50 steps; 0 turns them off")
    add_bool(p, "no_eval", False, "skip per-epoch validation even with --val_fraction")
    add_bool(p, "sink_mode", False, "dataset sink mode (GPU/Ascend)")
    add_bool(p, "distributed", False, "data-parallel training under msrun")
    add_bool(p, "has_back", False, "(kept for compatibility; the flow lr reset is gone, see --lr_min)")
    add_openi_args(p, ("--data_url", "./data", "dataset folder (<data_url>/<dataset>/jpg, annotation/)"),
                   ("--train_url", "./model", "where the run folder is copied at the end"))
    p.add_argument("--amp_level", default="auto", choices=AMP_LEVELS,
                   help="auto: O0 on CPU, O2 on GPU, O3 on Ascend")
    p.add_argument("--device_num", type=positive_int, default=8, help="(compatibility; msrun sets the group size)")
    add_runtime_args(p)
    return p


def add_openi_args(p, *urls):
    """The OpenI/ModelArts flags (src/data/openi.py): with --openI the paths come from the URLs."""
    add_bool(p, "openI", False, "OpenI/ModelArts: copy --data_url in (and results out), paths from the URLs")
    for flag, default, help_text in urls:
        p.add_argument(flag, default=default, help=help_text)


def eval_parser():
    p = argparse.ArgumentParser(description="Evaluate I3D checkpoints: rgb, flow or joint (late fusion).")
    add_data_args(p, dataset_required=True, spatial_size=None,
                  spatial_help="crop size (default: the checkpoint's recorded training crop, else 224; an exported "
                               "model's input size)")
    p.add_argument("--test_mode", required=True, choices=("rgb", "flow", "joint"))
    p.add_argument("--rgb_path", default="", help="rgb checkpoint (with --config RUN/config.json of an rgb run: "
                                                  "its best.ckpt, else its newest epoch checkpoint)")
    p.add_argument("--flow_path", default="", help="flow checkpoint (as --rgb_path for a flow run)")
    p.add_argument("--video_path_joint_flow", default=None, help="flow frame tree (joint mode)")
    p.add_argument("--annotation_path_joint_flow", default=None, help="flow annotation JSON (joint mode)")
    p.add_argument("--test_sample_duration", type=non_negative_int, default=None,
                   help="frames of the centred window; 0 = the whole video (logits averaged by the head). Default: "
                        "the checkpoint's recorded clip length, else 64; an exported model's input length")
    p.add_argument("--num_clips", type=positive_int, default=1,
                   help="multi-view testing: N windows of --test_sample_duration frames spread evenly over each "
                        "video (1 = the centred window); the video's logits are the mean over its views")
    p.add_argument("--num_crops", type=positive_int, default=1, choices=(1, 3),
                   help="1 = centre crop; 3 = left/centre/right (top/centre/bottom for portrait frames)")
    p.add_argument("--num_val_samples", type=non_negative_int, default=1, help="(kept for compatibility; unused)")
    p.add_argument("--output_dir", default=None,
                   help="where predictions (CSV, JSON) and the confusion matrix (PNG) go (default: a new "
                        "./eval_output/<dataset>_<test_mode>[_N]); an existing non-empty folder needs --overwrite")
    p.add_argument("--overwrite", action="store_true", help="replace the results in an existing --output_dir")
    p.add_argument("--subset", default="validation", choices=tuple(SUBSET_ALIASES),
                   help="validation (= the official test split; val, test, testing) or training (train)")
    add_openi_args(p, ("--data_url", "./data", "dataset folder (<data_url>/<dataset>/jpg, annotation/)"),
                   ("--ckpt_url", "./ckpt", "folder holding the --rgb_path/--flow_path checkpoint files"),
                   ("--result_url", "./result", "where log.txt with the accuracy line is written"))
    add_runtime_args(p)
    # a training recipe or a training run's config.json read by eval: the run's stream is the one to
    # test, train-only settings (checkpoint_path is the pretrained start) are not eval's business
    p.recipe_renames = {"mode": "test_mode"}
    p.recipe_foreign = frozenset(a.dest for a in train_parser()._actions)
    return p


# -- recipes: --config FILE ---------------------------------------------------------------------------
# What a run folder's config.json records besides the flags (RUN_FACTS, which mark such a file) and the
# flags of that run that must not be reused when it is read back as a recipe (RUN_PLACE).
RUN_FACTS = ("amp_level_used", "device_target_used", "rank", "group_size", "steps_per_epoch", "train_videos",
             "validation_videos")
RUN_PLACE = ("run_dir", "resume", "overwrite", "config")


class ConfigError(UserError):
    """A --config file that cannot be read or names settings that do not exist; the message names it."""


def _unique_key_loader():
    """yaml's SafeLoader, except that a key given twice is an error (SafeLoader keeps the last silently)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, (str, int, float, bool)) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"{key!r} is given twice (line {key_node.start_mark.line + 1})", key_node.start_mark)
                seen.add(key if isinstance(key, (str, int, float, bool)) else id(key_node))
            return super().construct_mapping(node, deep)

    return UniqueKeyLoader


def load_config(path, parser):
    """{flag destination: value} from a YAML (or JSON) recipe, checked against the parser's flags."""
    import yaml

    try:
        values = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_unique_key_loader())
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--config {path}: cannot read it ({exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--config {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"--config {path}: expected a mapping of flag names to values")
    actions = {a.dest: a for a in parser._actions if a.dest != "help"}
    renames = getattr(parser, "recipe_renames", {})
    values = {renames.get(k, k): v for k, v in values.items()}
    # a run's own config.json: a new run from it goes to a new folder
    skip = RUN_FACTS + (RUN_PLACE if any(k in values for k in RUN_FACTS) else ("config",))
    skip += tuple(k for k in getattr(parser, "recipe_foreign", ()) if k not in actions)
    unknown = sorted(k for k in values if k not in actions and k not in skip)
    if unknown:
        raise ConfigError(f"--config {path}: unknown setting(s) {', '.join(unknown)} (not flags of {parser.prog})")
    checked = {}
    for key, value in values.items():
        action = actions.get(key)
        if action is None or key in skip:
            continue
        if value is not None and value != action.default and callable(action.type):
            try:  # the flag's own check (positive numbers, booleans ...), as on the command line
                value = action.type(str(value))
            except (argparse.ArgumentTypeError, ValueError) as exc:
                raise ConfigError(f"--config {path}: {key}: {exc}") from None
        if action.choices is not None and value not in action.choices and value != action.default:
            raise ConfigError(f"--config {path}: {key}: {value!r} is not one of {tuple(action.choices)}")
        checked[key] = value
    return checked


def parse_with_config(parser, argv=None):
    """Parse argv; with `--config FILE` the file's values become the defaults and the command line wins."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    if known.config:
        try:
            values = load_config(known.config, parser)
        except ConfigError as exc:
            parser.error(str(exc))  # one line and exit status 2, like any other bad flag
        for action in parser._actions:
            if action.dest in values:
                action.required = False
        parser.set_defaults(**values)
    return parser.parse_args(argv)
