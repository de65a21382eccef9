"""pytest setup: the CPU speed switch before MindSpore's first op, and the `shared` fixture."""
import pytest

import src  # noqa: F401  (sets the CPU speed switch before MindSpore's first op: docs/cpu_kernels.md)
from tests.fixtures.shared import shared_path


@pytest.fixture
def shared():
    return shared_path
