"""Official UCF101 split files -> ucf101_0{1,2,3}.json: `python -m ucf101_json SPLIT_DIR JPG_DIR DST_DIR`."""
import sys

from src.prep.annotations import main
from src.prep.jobs import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(lambda: main("ucf101")))
