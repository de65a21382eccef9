"""Helpers for the data preparation tests: run a top-level tool as a user would, inspect output trees."""
import os
import subprocess
import sys
from pathlib import Path

from src.atomic import LOCK_NAME

REPO = Path(__file__).resolve().parents[1]


def run_tool(script, *args, timeout=120):
    """`python name.py args` or `python -m name args` (as given) from the repository root; returns the CompletedProcess (text output)."""
    cmd = [sys.executable, script] if script.endswith(".py") else [sys.executable, "-m", script]
    return subprocess.run([*cmd, *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def hidden_entries(root):
    """Every name starting with '.' anywhere under root (temp folders/files must not survive a run), except
    the output folder's lock file."""
    return sorted(str(p) for p in Path(root).rglob(".*") if p.name != LOCK_NAME)


def finished_folders(root):
    return sorted(p.parent for p in Path(root).glob("*/*/n_frames") if not p.parent.name.startswith("."))
