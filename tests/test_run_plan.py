"""One run plan (issue 18.2): flags + recipe + a resumed run's record resolved once into a frozen plan that
nothing edits; eval's sizes from the checkpoint's record or the run's config.json; frames smaller than the
crop are a one-line error before any work; an eval output folder is never silently replaced or shared."""
import copy
import dataclasses
import subprocess
import sys

import mindspore as ms
import pytest

from src.common.atomic import exclusive_output
from src.checkpoints.checkpoint import open_checkpoint
from src.checkpoints.kinetics import KINETICS400_FILE, kinetics400_names
from src.common.settings import Settings
from src.train.config import eval_parser, parse_with_config, train_parser
from src.model.i3d import build_i3d
from src.train.plan import plan_run
from src.checkpoints.convert import convert_file
from tests.fixtures.shared import REPO, shared_path
from tests.fixtures.runs import make_trees
from tests.fixtures.network import reinitialise


def run(script, *args):
    return subprocess.run([sys.executable, script, *map(str, args)], cwd=REPO, capture_output=True, text=True)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = make_trees(tmp_path_factory.mktemp("plan"))  # frames 40x48
    ms.save_checkpoint(reinitialise(build_i3d("rgb", 2), seed=1), str(root / "rgb2.ckpt"))
    ms.save_checkpoint(reinitialise(build_i3d("rgb", 400), seed=1), str(root / "k400.ckpt"))
    return root


def test_settings_are_read_only():
    settings = Settings.of({"lr": 0.1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.lr = 0.2
    assert settings.replace(lr=0.2).lr == 0.2 and settings.lr == 0.1
    with pytest.raises(KeyError):
        settings.replace(no_such_flag=1)


def test_train_plan_resolves_everything_and_leaves_the_namespace_alone(tiny, tmp_path):
    args = parse_with_config(train_parser(), [
        "--dataset", "hmdb51", "--mode", "rgb", "--video_path", str(tiny / "rgb"), "--annotation_path",
        str(tiny / "ann.json"), "--checkpoint_path", str(tiny / "k400.ckpt"), "--run_dir", str(tmp_path / "run"),
        "--context", "py"])
    before = copy.deepcopy(vars(args))
    plan = plan_run(args, ())
    assert vars(args) == before  # nothing edited the parsed flags
    flags = plan.flags
    # what was None on the command line is explicit in the plan (config.json records these values)
    assert (flags.arch, flags.head, flags.bn_momentum, flags.finetune_num_classes) == ("deepmind", "avg", 0.99, 2)
    assert flags.save_dir == "./output_standalone/" and flags.run_dir == str(tmp_path / "run")
    assert plan.class_names == ("left", "right")
    config = plan.config(steps_per_epoch=3)
    assert config["bn_momentum"] == 0.99 and config["steps_per_epoch"] == 3 and config["rank"] == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.run_dir = tmp_path


def test_eval_reads_a_training_recipe_and_takes_the_stream_from_it():
    args = parse_with_config(eval_parser(), ["--config", str(REPO / "configs" / "hmdb51_flow_1p.yaml"),
                                             "--flow_path", "x.ckpt"])
    # the recipe's mode is the stream to test; train-only settings (its pretrained checkpoint) are ignored
    assert (args.test_mode, args.dataset, args.spatial_size) == ("flow", "hmdb51", 224)
    assert args.video_path == "./datasets/flow/hmdb51/jpg" and args.flow_path == "x.ckpt"
    with pytest.raises(SystemExit):  # a setting neither tool has is still an error
        bad = REPO / "configs" / "hmdb51_flow_1p.yaml"
        parse_with_config(eval_parser(), ["--config", str(bad), "--test_mode", "rgb", "--no_such"])


def test_frames_smaller_than_the_crop_are_one_line_before_any_work(tiny, tmp_path):
    proc = run("eval.py", "--dataset", "hmdb51", "--test_mode", "rgb", "--video_path", tiny / "rgb",
               "--annotation_path", tiny / "ann.json", "--rgb_path", tiny / "rgb2.ckpt", "--spatial_size", 64,
               "--test_sample_duration", 9, "--context", "py", "--output_dir", tmp_path / "e")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("eval: ") and "frames are 48x40, smaller than the 64x64 crop" in lines[-1]
    assert "--spatial_size 40 or less" in lines[-1] and "Traceback" not in proc.stderr
    assert "running evaluation" not in proc.stdout
    proc = run("train.py", "--dataset", "hmdb51", "--mode", "rgb", "--video_path", tiny / "rgb", "--annotation_path",
               tiny / "ann.json", "--spatial_size", 64, "--run_dir", tmp_path / "r", "--context", "py")
    assert proc.returncode == 2 and "smaller than the 64x64 crop" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


def test_an_eval_output_folder_in_use_is_refused(tiny, tmp_path):
    out = tmp_path / "busy"
    with exclusive_output(out, "evaluation"):
        proc = run("eval.py", "--dataset", "hmdb51", "--test_mode", "rgb", "--video_path", tiny / "rgb",
                   "--annotation_path", tiny / "ann.json", "--rgb_path", tiny / "rgb2.ckpt", "--spatial_size", 32,
                   "--test_sample_duration", 9, "--context", "py", "--output_dir", out)
    assert proc.returncode == 2 and "another evaluation is writing into this folder" in proc.stderr
    assert not (out / "summary.json").exists()


def test_a_missing_pretrained_checkpoint_names_the_command_that_makes_it(tiny, tmp_path):
    proc = run("eval.py", "--dataset", "hmdb51", "--test_mode", "rgb", "--video_path", tiny / "rgb",
               "--annotation_path", tiny / "ann.json", "--rgb_path", tmp_path / "pretrained" / "i3d_rgb_kinetics400.ckpt")
    assert proc.returncode == 2 and "make it with: bash scripts/get_pretrained.sh" in proc.stderr
    proc = run("train.py", "--dataset", "hmdb51", "--mode", "rgb", "--video_path", tiny / "rgb", "--annotation_path",
               tiny / "ann.json", "--checkpoint_path", tmp_path / "i3d_rgb_kinetics400.ckpt", "--run_dir", tmp_path / "r")
    assert proc.returncode == 2 and "make it with: bash scripts/get_pretrained.sh" in proc.stderr


def test_kinetics400_names_ship_and_are_recorded_in_converted_weights(tmp_path):
    names = kinetics400_names()
    assert len(names) == 400 and len(set(names)) == 400
    # DeepMind's label_map.txt order (line i + 1 names logit i): spot checks
    assert (names[0], names[6], names[227], names[399]) == ("abseiling", "arm wrestling", "playing cricket", "zumba")
    assert "Apache" in (KINETICS400_FILE.parent / "README.md").read_text()
    convert_file(shared_path("pretrained", "i3djax_rgb_scratch_k400.npz"), tmp_path / "k400.ckpt")
    _, record = open_checkpoint(tmp_path / "k400.ckpt")
    assert record["class_names"] == names
    assert record["class_names"] == shared_path("pretrained", "kinetics400_labels.txt").read_text().splitlines()
