"""--config recipes (YAML and a run's config.json, command line wins), default progress lines, labels.txt."""
import json

import mindspore as ms
import pytest

from tests.fixtures.tools import run_tool
from src.train.config import parse_with_config, train_parser
from src.model.i3d import build_i3d
from tests.fixtures.network import reinitialise
from tests.test_train_eval import make_trees

RECIPE = """# a tiny recipe
dataset: hmdb51
mode: rgb
finetune_num_classes: 2
spatial_size: 32
train_sample_duration: 9
test_sample_duration: 9
batch_size: 2
context: py
num_workers: 1
num_epochs: 5
lr: 0.02
flip: false
"""


def test_recipe_values_are_defaults_and_the_command_line_wins(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE)
    args = parse_with_config(train_parser(), ["--config", str(recipe), "--lr", "0.5"])
    assert (args.dataset, args.mode, args.lr, args.num_epochs, args.flip) == ("hmdb51", "rgb", 0.5, 5, False)


@pytest.mark.parametrize("text,message", [
    ("dataset: hmdb51\nmode: rgb\nlearning_rate: 0.1\n", "unknown setting(s) learning_rate"),
    ("dataset: hmdb51\nmode: depth\n", "mode: 'depth' is not one of ('rgb', 'flow')"),
    ("- a\n- b\n", "expected a mapping of flag names to values"),
    ("dataset: [unclosed\n", "not valid YAML"),
])
def test_bad_recipes_are_one_line_errors(tmp_path, text, message):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(text)
    result = run_tool("train.py", "--config", recipe)
    assert result.returncode == 2 and message in result.stderr and str(recipe) in result.stderr
    assert "Traceback" not in result.stderr


def test_train_from_a_recipe_progress_lines_labels_and_config_json_as_recipe(tmp_path):
    root = make_trees(tmp_path / "data")
    ms.save_checkpoint(reinitialise(build_i3d("rgb", 400), seed=1), str(tmp_path / "k400.ckpt"))
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE + f"video_path: {root / 'rgb'}\nannotation_path: {root / 'ann.json'}\n"
                               f"checkpoint_path: {tmp_path / 'k400.ckpt'}\n")
    first = run_tool("train.py", "--config", recipe, "--num_epochs", 1, "--run_dir", tmp_path / "run", timeout=600)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    # 6 training videos, batch 2: 3 steps, a progress line after steps 1 and 2 (none on the epoch's last step)
    assert "  epoch 1 step 1/3 loss " in first.stdout and " lr 0.02 (" in first.stdout and "clips/s" in first.stdout
    assert "epoch 1 mean loss: " in first.stdout and ", lr 0.02" in first.stdout
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["num_epochs"], config["lr"], config["flip"], config["batch_size"]) == (1, 0.02, False, 2)
    assert (tmp_path / "run" / "labels.txt").read_text() == "left\nright\n"

    predicted = run_tool("predict.py", root / "rgb" / "left" / "left_00", "--checkpoint",
                         tmp_path / "run" / "checkpoints" / "i3d-1_3.ckpt", "--crop", 32, "--top_k", 2, timeout=600)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert {"left", "right"} <= set(predicted.stdout.split())  # class names from the run's labels.txt

    again = run_tool("train.py", "--config", tmp_path / "run" / "config.json", "--run_dir", tmp_path / "run2",
                     "--log_every", 0, timeout=600)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "  epoch 1 step" not in again.stdout  # --log_every 0: no progress lines
    second = json.loads((tmp_path / "run2" / "config.json").read_text())
    assert {k: v for k, v in second.items() if k not in ("run_dir", "config", "log_every")} == \
        {k: v for k, v in config.items() if k not in ("run_dir", "config", "log_every")}
