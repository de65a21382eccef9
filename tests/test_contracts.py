"""The shared contracts: the network input step, the dataset registry, temp names, structural flags."""
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest

from src.data import datasets
from src.common.atomic import atomic_output, partial_path, partial_target, write_text_atomic
from src.train.config import structural_flags, train_parser
from src.model.network_input import ScaledInput, as_network_input
from tests.fixtures.shared import REPO


def test_numpy_and_device_scaling_are_the_same_step():
    """Eval/predict scale in NumPy, training on the device: both give v / 127.5 - 1 for every uint8 value."""
    values = np.arange(256, dtype=np.uint8).reshape(1, 1, 1, 16, 16)
    host = as_network_input(values)
    device = ScaledInput(ms.nn.Identity())(ms.Tensor(values)).asnumpy()
    assert host.dtype == np.float32 and host.min() == -1.0 and host.max() == 1.0
    np.testing.assert_allclose(host, device, rtol=0, atol=1e-6)
    np.testing.assert_allclose(host, values / 127.5 - 1, rtol=0, atol=1e-6)


@pytest.mark.parametrize("bad,message", [
    (np.full((3, 2, 4, 4), np.nan, np.float32), "clip.npy: holds NaN or infinite values"),
    (np.full((3, 2, 4, 4), np.inf, np.float32), "clip.npy: holds NaN or infinite values"),
    (np.full((3, 2, 4, 4), 200.0, np.float32), r"clip.npy: float values must already be in \[-1, 1\]"),
])
def test_float_clips_are_checked_not_scaled(bad, message):
    with pytest.raises(ValueError, match=message):
        as_network_input(bad, "clip.npy")
    ok = np.linspace(-1, 1, 96, dtype=np.float32).reshape(3, 2, 4, 4)
    assert as_network_input(ok) is ok or np.array_equal(as_network_input(ok), ok)


def test_registry_answers_tools_and_scripts():
    assert datasets.NAMES == ("hmdb51", "ucf101", "custom") and datasets.OFFICIAL == ("hmdb51", "ucf101")
    assert [datasets.get("ucf101").annotation_name(s) for s in (1, 2, 3)] == ["ucf101_01.json", "ucf101_02.json",
                                                                             "ucf101_03.json"]
    assert datasets.get("hmdb51").annotation_name() == "hmdb51_1.json" and datasets.get("hmdb51").num_classes == 51
    with pytest.raises(ValueError, match="unknown dataset 'kinetics'; known: hmdb51, ucf101, custom"):
        datasets.get("kinetics")
    run = lambda *a: subprocess.run([sys.executable, "-m", "src.data.datasets", *a], cwd=REPO, capture_output=True,  # noqa: E731
                                    text=True)
    assert run("annotation", "ucf101").stdout.strip() == "ucf101_01.json"
    assert run("classes", "hmdb51").stdout.strip() == "51"
    bad = run("annotation", "kinetics")
    assert bad.returncode == 2 and "unknown dataset 'kinetics'" in bad.stderr and "Traceback" not in bad.stderr


def test_one_temp_name_scheme_with_or_without_a_suffix(tmp_path):
    target = tmp_path / "i3d-3_10.ckpt"
    for suffix in ("", ".ckpt"):
        tmp = partial_path(target, suffix)
        assert tmp.name.startswith(".i3d-3_10.ckpt.partial-") and tmp.name.endswith(suffix)
        assert partial_target(tmp) == "i3d-3_10.ckpt"
    assert partial_target(tmp_path / ".hidden") is None and partial_target(tmp_path / "x.partial-12") is None
    write_text_atomic(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError):
        with atomic_output(tmp_path / "a.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert (tmp_path / "a.txt").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_structural_flags_are_marked_where_they_are_defined():
    marked = set(structural_flags(train_parser()))
    assert {"mode", "dataset", "head", "lr", "batch_size", "flip", "seed", "finetune_prefixes"} <= marked
    assert not marked & {"num_epochs", "resume", "log_every", "num_workers", "device_target", "save_dir"}


def test_every_numeric_flag_has_a_checked_type():
    """The flag-type rule (docs/bad_input.md): argparse's plain int/float accept '١٢' (as 12), 'nan', 'inf' and
    any size, so no parser of the product uses them; numeric flags take a type from src/common/flag_types.py."""
    import ast

    sources = [*REPO.glob("*.py"), *(REPO / "src").rglob("*.py"), *(REPO / "tools").glob("*.py")]
    plain = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
                types = [k.value for k in node.keywords if k.arg == "type"]
                if any(isinstance(t, ast.Name) and t.id in ("int", "float") for t in types):
                    plain.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert len(sources) > 50, sources
    assert plain == [], plain
