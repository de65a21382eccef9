"""Shared test fixtures: the ../shared folder beside the repository, CPU speed switch."""
import os
from pathlib import Path

import pytest

# Must be in the environment before MindSpore runs its first convolution (see README, "CPU speed").
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(*parts):
    """Path inside ../shared, or skip the test with a message saying what is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the project's ../shared folder beside the repository); not present here")
    return path


@pytest.fixture
def shared():
    return shared_path
