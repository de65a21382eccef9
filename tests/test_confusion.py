"""The confusion report: CSV with class names, the most confused pairs, pictures that grow with the class count."""
import cv2
import numpy as np

from src.evaluate.confusion import confusion_png, most_confused, read_confusion_csv, write_confusion_csv
from src.evaluate.metrics import accuracy_figures


def synthetic(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n, 8 * n)
    logits = rng.normal(size=(len(labels), n))
    logits[np.arange(len(labels)), labels] += 2.0
    return accuracy_figures(logits, labels, n)["confusion"], labels, logits.argmax(axis=1)


def test_csv_counts_equal_the_predictions(tmp_path):
    confusion, labels, pred = synthetic(5)
    names = [f"class, {i}" for i in range(5)]  # a comma in a name survives the CSV
    write_confusion_csv(tmp_path / "c.csv", confusion, names)
    read_names, counts = read_confusion_csv(tmp_path / "c.csv")
    assert read_names == names
    for t in range(5):
        for p in range(5):
            assert counts[t, p] == np.sum((labels == t) & (pred == p))
    assert not list(tmp_path.glob(".*"))  # written under a temp name, renamed


def test_most_confused_pairs():
    confusion = np.array([[5, 3, 0], [1, 4, 7], [0, 3, 9]])
    assert most_confused(confusion, ["a", "b", "c"], k=3) == [
        {"truth": "b", "predicted": "c", "count": 7}, {"truth": "a", "predicted": "b", "count": 3},
        {"truth": "c", "predicted": "b", "count": 3}]
    assert most_confused(np.eye(3, dtype=int), ["a", "b", "c"]) == []  # no confusion, no pairs


def test_pictures_grow_with_the_class_count(tmp_path):
    sizes = {}
    for n in (4, 51, 101):
        confusion, _, _ = synthetic(n)
        path = confusion_png(confusion, [f"class_name_{i}" for i in range(n)], tmp_path / f"c{n}.png", f"{n} classes")
        image = cv2.imread(str(path))
        assert image is not None
        sizes[n] = image.shape[:2]
    assert sizes[4][0] < sizes[51][0] < sizes[101][0]
    assert sizes[101][0] >= 101 * 14  # at least ~14 px per class row: the names stay legible
