"""matplotlib without a display (Agg), and figures saved under a temp name like every other output."""
from pathlib import Path

from src.common.atomic import atomic_output


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed, same pixels everywhere)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path, dpi=100):
    """Write `fig` to `path` as PNG (parents created, temp name then rename) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_output(path) as tmp:
            with open(tmp, "wb") as f:
                fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        pyplot().close(fig)
    return path
