"""Official HMDB51 split files -> hmdb51_{1,2,3}.json: `python -m hmdb51_json SPLIT_DIR JPG_DIR DST_DIR`."""
import sys

from src.prep.annotations import main
from src.prep.jobs import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(lambda: main("hmdb51")))
