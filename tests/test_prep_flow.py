"""convert_rgb_to_flow with real TV-L1 on JPEG frames: known shift, quantisation, frame count, bad folders."""
import cv2
import numpy as np

from prep_helpers import finished_folders, hidden_entries, run_tool
from src.layout import dequantise_flow as dequantise, quantise_flow as quantise
from src.prep.synthetic_media import shifted_sequence

BOUND = 20.0
STEP = 2 * BOUND / 255


def test_quantisation_round_trips_within_one_step():
    flow = np.linspace(-BOUND, BOUND, 2001, dtype=np.float32)
    stored = quantise(flow, BOUND)
    assert stored.dtype == np.uint8
    assert np.abs(dequantise(stored, BOUND) - flow).max() <= STEP / 2 + 1e-5
    assert quantise(np.array([-BOUND, 0.0, BOUND, -35.0, 35.0]), BOUND).tolist() == [0, 128, 255, 0, 255]


def write_frames(folder, grey_frames):
    folder.mkdir(parents=True)
    for k, grey in enumerate(grey_frames, 1):
        assert cv2.imwrite(str(folder / f"image_{k:05d}.jpg"), cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 95])


def read_flow(folder, k):
    """(x, y) flow in pixels decoded from the stored JPEGs of flow frame k."""
    return [dequantise(cv2.imread(str(folder / f"image_{k:05d}{c}.jpg"), cv2.IMREAD_GRAYSCALE), BOUND) for c in "xy"]


def test_flow_tool_on_real_frames(tmp_path):
    rgb, flow = tmp_path / "rgb", tmp_path / "flow"
    write_frames(rgb / "move" / "shift", shifted_sequence(60, 72, dx=3, dy=-2, n=3))
    write_frames(rgb / "move" / "still", shifted_sequence(40, 48, dx=0, dy=0, n=1))
    write_frames(rgb / "move" / "broken", shifted_sequence(40, 48, dx=1, dy=0, n=2))
    (rgb / "move" / "broken" / "image_00002.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (rgb / "move" / "empty").mkdir()

    estimate = run_tool("convert_rgb_to_flow.py", f"--rgb_path={rgb}", f"--flow_path={flow}", "--estimate")
    assert estimate.returncode == 0, estimate.stderr
    assert "4 videos to do (0 already done), 3 frame pairs" in estimate.stdout  # broken 1 + shift 2 + still 0
    assert "pairs/s on one core" in estimate.stdout and "projected with" in estimate.stdout
    assert not flow.exists()  # an estimate writes nothing

    result = run_tool("convert_rgb_to_flow.py", f"--rgb_path={rgb}", f"--flow_path={flow}", "--n_jobs", 2)
    assert result.returncode == 1
    assert "done 2, skipped 0 (already done), failed 2" in result.stdout
    assert f"FAILED {rgb / 'move' / 'broken'}: {rgb / 'move' / 'broken' / 'image_00002.jpg'}: truncated JPEG (no end marker)" in result.stdout
    assert f"FAILED {rgb / 'move' / 'empty'}: no image_%05d.jpg frames" in result.stdout
    assert [p.name for p in finished_folders(flow)] == ["shift", "still"]
    assert hidden_entries(flow) == []

    shift = flow / "move" / "shift"
    assert sorted(p.name for p in shift.iterdir()) == [
        "image_00001x.jpg", "image_00001y.jpg", "image_00002x.jpg", "image_00002y.jpg",
        "image_00003x.jpg", "image_00003y.jpg", "n_frames"]  # n rgb frames -> n flow frames
    assert (shift / "n_frames").read_text() == "3"
    for k in (1, 2, 3):
        fx, fy = (np.median(c[8:-8, 8:-8]) for c in read_flow(shift, k))
        assert abs(fx - 3) < 0.3 and abs(fy + 2) < 0.3, (k, fx, fy)
    for c in "xy":  # the last flow frame repeats the one before
        assert (shift / f"image_00003{c}.jpg").read_bytes() == (shift / f"image_00002{c}.jpg").read_bytes()

    still = flow / "move" / "still"
    assert (still / "n_frames").read_text() == "1"
    assert all(np.abs(c).max() <= STEP for c in read_flow(still, 1))  # a 1-frame video: one zero flow frame

    again = run_tool("convert_rgb_to_flow.py", f"--rgb_path={rgb}", f"--flow_path={flow}", "--n_jobs", 1)
    assert "done 0, skipped 2 (already done), failed 2" in again.stdout and again.returncode == 1
