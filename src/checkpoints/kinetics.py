"""The Kinetics-400 class names shipped with the package (src/checkpoints/labels/, source and license in
its README): every public 400-class I3D checkpoint is a Kinetics-400 model in DeepMind's label order."""
from pathlib import Path

KINETICS400_FILE = Path(__file__).resolve().parent / "labels" / "kinetics400.txt"
KINETICS400_CLASSES = 400


def kinetics400_names():
    """The 400 class names, logit order."""
    names = KINETICS400_FILE.read_text(encoding="utf-8").splitlines()
    if len(names) != KINETICS400_CLASSES:
        raise RuntimeError(f"{KINETICS400_FILE}: {len(names)} names, expected {KINETICS400_CLASSES} (damaged install)")
    return names
