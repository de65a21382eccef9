"""Loss and accuracy curves of train.py runs: `python tools/plot_run.py RUN_DIR [RUN_DIR ...] [--out PNG]`."""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.train.curves import load_runs, plot_runs  # noqa: E402
from src.prep.jobs import run_cli  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description="Draw the loss and validation-accuracy curves of one or more run "
                                "folders (their metrics.csv) on one figure.")
    p.add_argument("run_dirs", nargs="+", help="train.py run folders")
    p.add_argument("--out", default=None, help="PNG to write (default: <first RUN_DIR>/curves.png)")
    p.add_argument("--title", default=None)
    args = p.parse_args(argv)
    out = plot_runs(load_runs(args.run_dirs), args.out or Path(args.run_dirs[0]) / "curves.png", args.title)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
