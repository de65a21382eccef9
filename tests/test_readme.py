"""The README and docs/ cannot drift from the code: the try-it block runs as written, every command they
show names a script that exists and flags that script accepts, and every link points at a file."""
import os
import re
import shutil
import subprocess
import sys
import time
from functools import lru_cache

import pytest

from tests.fixtures.shared import REPO, SHARED

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TRY_IT = re.compile(r"<!-- try-it: begin -->\s*```bash\n(.*?)```\s*<!-- try-it: end -->", re.S)
FLAG = re.compile(r"(?<![\w-])--([A-Za-z][\w-]*)")


def code_blocks(text):
    return re.findall(r"```(?:bash|sh)?\n(.*?)```", text, re.S)


def commands(block):
    """Shell commands of a block: continuation lines joined, comments cut."""
    joined = re.sub(r"\\\n\s*", " ", block)
    out = []
    for line in joined.splitlines():
        line = re.sub(r"\s#.*$", "", line).strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def shown_commands():
    """(page, command) for every `python ...` / `bash scripts/...` line in a code block of README and docs."""
    found = []
    for page in PAGES:
        for block in code_blocks(page.read_text()):
            for cmd in commands(block):
                if re.match(r"(\$ )?(python|bash) ", cmd):
                    found.append((page.name, cmd.removeprefix("$ ")))
    return found


# The shell scripts pass the flags after their positional arguments on to one Python tool.
SCRIPT_TAKES_FLAGS_OF = {
    "scripts/prepare_dataset.sh": ("script", "prepare_dataset.py"),
    "scripts/run_standalone_train.sh": ("script", "train.py"),
    "scripts/run_distribute_train.sh": ("script", "train.py"),
    "scripts/run_single_eval.sh": ("script", "eval.py"),
    "scripts/run_joint_eval.sh": ("script", "eval.py"),
    "scripts/run_distributed_single-mode_eval.sh": ("script", "eval.py"),
    "scripts/run_eval_onnx.sh": ("script", "eval_onnx.py"),
    "scripts/get_pretrained.sh": (None, None),
    "scripts/check_device.sh": (None, None),
    "scripts/check_flow_gpu.sh": (None, None),
}


def target_of(cmd):
    """('script', path) / ('module', name) a shown command runs, or None for anything else."""
    words = cmd.split()
    if words[0] == "python" and words[1] == "-m":
        return ("module", words[2])
    if words[0] == "python":
        return ("script", words[1])
    if words[0] == "bash":
        return ("script", words[1])
    return None


@lru_cache(maxsize=None)
def help_text(kind, name):
    args = [sys.executable, "-m", name, "--help"] if kind == "module" else [sys.executable, name, "--help"]
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(args[1:])} failed:\n{proc.stderr[-2000:]}"
    return proc.stdout


def test_pages_show_commands():
    """The extraction below sees the commands it claims to check."""
    cmds = [c for _, c in shown_commands()]
    assert any(c.startswith("python train.py --config") for c in cmds)
    assert any(c.startswith("python eval.py") and "--test_mode joint" in c for c in cmds)
    assert any(c.startswith("bash scripts/prepare_dataset.sh") for c in cmds)


def test_shown_scripts_exist_and_accept_the_flags_shown():
    problems = []
    for page, cmd in shown_commands():
        kind, name = target_of(cmd)
        if kind == "script" and not (REPO / name).is_file():
            problems.append(f"{page}: {cmd[:80]}: no file {name}")
            continue
        if kind == "module" and not ((REPO / (name.replace(".", "/") + ".py")).is_file()):
            problems.append(f"{page}: {cmd[:80]}: no module {name}")
            continue
        if name.endswith(".sh"):
            if name not in SCRIPT_TAKES_FLAGS_OF:
                problems.append(f"{page}: {cmd[:80]}: which tool receives the flags of {name}?")
                continue
            kind, name = SCRIPT_TAKES_FLAGS_OF[name]  # flags after the positional arguments go to this tool
            if kind is None:
                continue
        accepted = set(FLAG.findall(help_text(kind, name)))
        unknown = [f for f in FLAG.findall(cmd) if f not in accepted]
        if unknown:
            problems.append(f"{page}: {cmd[:80]}...: {name} does not accept --{', --'.join(unknown)}")
    assert not problems, "\n".join(problems)


def test_links_point_at_files():
    missing = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            if not (page.parent / target).exists():
                missing.append(f"{page.relative_to(REPO)} -> {target}")
    assert not missing, missing


def copy_of_repo(dest):
    """The tracked files of the repository (what a fresh clone has), with its .venv."""
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (REPO / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / f, dest / f)
    (dest / ".venv").symlink_to(REPO / ".venv")


def test_try_it_block_runs_as_written(tmp_path):
    block = TRY_IT.search((REPO / "README.md").read_text())
    assert block, "README.md has no try-it block"
    if not (REPO / ".venv" / "bin" / "activate").exists():
        pytest.skip("needs the project's .venv: run `make test`, which builds it")
    env = dict(os.environ)
    weights = SHARED / "pretrained" / "i3djax_i3d-kinetics-400.ckpt"
    if weights.exists():  # the file get_pretrained.sh would fetch with pip (same sha256, checked by the script)
        env["I3D_WEIGHTS_FILE"] = str(weights)
    repo = tmp_path / "repo"
    copy_of_repo(repo)
    lines = commands(block.group(1))
    assert lines[0] == "source .venv/bin/activate"
    report, outputs = [], []
    script = "set -e\n" + lines[0] + "\n"
    for cmd in lines[1:]:
        start = time.time()
        proc = subprocess.run(["bash", "-c", script + cmd], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=1800)
        report.append(f"{time.time() - start:7.1f} s  {cmd[:100]}")
        assert proc.returncode == 0, ("\n".join(report) + f"\n`{cmd}` exit {proc.returncode}\n{proc.stdout[-3000:]}\n"
                                      f"{proc.stderr[-3000:]}")
        outputs.append(proc.stdout + proc.stderr)
    print("\n".join(report))
    text = "\n".join(outputs)
    accuracy = {m: float(v) for m, v in re.findall(r"^(rgb|flow|joint) accuracy: ([0-9.]+)$", text, re.M)}
    print(accuracy)
    assert set(accuracy) == {"rgb", "flow", "joint"}, text[-3000:]
    assert accuracy["joint"] > 0.25, "joint accuracy at chance on the stand-in data"
    assert (repo / "runs" / "i3d_quickstart_rgb.mindir").is_file()
    assert re.search(r"top-5 for .*move_left", text), "predict printed no top-5"


def test_docs_pages_named_in_code_exist():
    """Messages and comments that send a reader to docs/<page>.md send them to a page that exists."""
    files = subprocess.run(["git", "ls-files", "*.py", "*.sh", "*.yaml", "Makefile"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
    missing = sorted({f"{f}: {page}" for f in files if (REPO / f).is_file()
                      for page in re.findall(r"docs/[\w-]+\.md", (REPO / f).read_text())
                      if not (REPO / page).is_file()})
    assert not missing, missing
