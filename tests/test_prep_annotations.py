"""Split JSON from the official HMDB51/UCF101 split files (../shared/data/splits), read as published."""
import json
from pathlib import Path

import pytest

from tests.fixtures.tools import run_tool
from src.prep.annotations import hmdb51_split, read_lines, video_key

EXPECTED = {
    "hmdb51": {1: (3570, 1530), 2: (3570, 1530), 3: (3570, 1530)},
    "ucf101": {1: (9537, 3783), 2: (9586, 3734), 3: (9624, 3696)},
}
JSON_NAME = {"hmdb51": "hmdb51_{}.json", "ucf101": "ucf101_{:02d}.json"}


def listed_videos(dataset, split_dir):
    """(class, key) of every video used by any split, parsed independently of the code under test."""
    videos = set()
    if dataset == "hmdb51":
        for path in split_dir.glob("*_test_split*.txt"):
            label = path.name.rsplit("_test_split", 1)[0]
            for line in path.read_bytes().decode().split("\n"):
                parts = line.split()
                if len(parts) == 2 and parts[1] != "0":
                    videos.add((label, parts[0][: -len(".avi")]))
    else:
        for path in split_dir.glob("*list0*.txt"):
            for line in path.read_bytes().decode().split("\r\n"):
                if line:
                    label, name = line.split()[0].split("/")
                    videos.add((label, name[: -len(".avi")]))
    return videos


def frames_of(key):
    return 20 + len(key) % 17


@pytest.fixture(scope="module", params=["hmdb51", "ucf101"])
def dataset_jsons(request, tmp_path_factory):
    """Frame folders (with n_frames) for every listed video, then the tool's three JSON files."""
    dataset = request.param
    split_dir = Path(request.getfixturevalue("shared")("data", "splits", dataset))
    jpg, out = tmp_path_factory.mktemp("jpg"), tmp_path_factory.mktemp("annotation")
    for label, key in listed_videos(dataset, split_dir):
        (jpg / label / key).mkdir(parents=True)
        (jpg / label / key / "n_frames").write_text(str(frames_of(key)))
    result = run_tool(f"{dataset}_json", split_dir, jpg, out)
    return dataset, split_dir, out, result


@pytest.fixture(scope="module")
def shared():
    from tests.fixtures.shared import shared_path

    return shared_path


def test_json_counts_match_the_official_splits(dataset_jsons):
    dataset, split_dir, out, result = dataset_jsons
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no frames" not in result.stdout
    for split, (n_train, n_val) in EXPECTED[dataset].items():
        data = json.loads((out / JSON_NAME[dataset].format(split)).read_text())
        subsets = [v["subset"] for v in data["database"].values()]
        assert (subsets.count("training"), subsets.count("validation")) == (n_train, n_val)
        assert len(data["labels"]) == (51 if dataset == "hmdb51" else 101)
        for key, entry in data["database"].items():
            assert set(entry) == {"subset", "annotations"} and entry["annotations"]["label"] in data["labels"]
            assert entry["annotations"]["segment"] == [1, frames_of(key) + 1]
            assert not key.endswith(".avi")


def test_labels_and_entries(dataset_jsons):
    dataset, split_dir, out, _ = dataset_jsons
    data = json.loads((out / JSON_NAME[dataset].format(1)).read_text())
    db = data["database"]
    if dataset == "hmdb51":
        assert data["labels"] == sorted(data["labels"]) and data["labels"][:2] == ["brush_hair", "cartwheel"]
        assert db["April_09_brush_hair_u_nm_np1_ba_goo_0"]["subset"] == "training"
        key = "Brushing_Her_Hair__[_NEW_AUDIO_]_UPDATED!!!!_brush_hair_h_cm_np1_fr_goo_0"
        assert db[key] == {"subset": "validation", "annotations": {"label": "brush_hair", "segment": [1, frames_of(key) + 1]}}
    else:
        class_ind = (split_dir / "classInd.txt").read_bytes().decode().split("\r\n")
        assert data["labels"] == [line.split()[1] for line in class_ind if line]  # file order
        assert db["v_ApplyEyeMakeup_g08_c01"]["subset"] == "training"
        assert db["v_ApplyEyeMakeup_g01_c01"]["annotations"]["label"] == "ApplyEyeMakeup"
        assert db["v_ApplyEyeMakeup_g01_c01"]["subset"] == "validation"


def test_missing_frame_folders_are_reported_not_fatal(shared, tmp_path):
    split_dir = shared("data", "splits", "hmdb51")
    jpg = tmp_path / "jpg"
    for key in ("April_09_brush_hair_u_nm_np1_ba_goo_0", "April_09_brush_hair_u_nm_np1_ba_goo_1"):
        (jpg / "brush_hair" / key).mkdir(parents=True)
        (jpg / "brush_hair" / key / "n_frames").write_text("30")
    result = run_tool("hmdb51_json.py", split_dir, jpg, tmp_path / "kept")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "5098 listed videos have no frames under" in result.stdout
    assert "first: brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_2, " in result.stdout
    kept = json.loads((tmp_path / "kept" / "hmdb51_1.json").read_text())["database"]
    assert len(kept) == 5100 and kept["April_09_brush_hair_u_nm_np1_ba_goo_2"]["annotations"]["segment"] == [1, 1]

    dropped = run_tool("hmdb51_json.py", split_dir, jpg, tmp_path / "dropped", "--drop_missing")
    assert dropped.returncode == 1
    db = json.loads((tmp_path / "dropped" / "hmdb51_1.json").read_text())["database"]
    assert sorted(db) == ["April_09_brush_hair_u_nm_np1_ba_goo_0", "April_09_brush_hair_u_nm_np1_ba_goo_1"]
    assert db["April_09_brush_hair_u_nm_np1_ba_goo_0"]["annotations"]["segment"] == [1, 31]


def test_split_lines_are_read_as_published(tmp_path):
    (tmp_path / "kick_test_split1.txt").write_bytes(
        b"Dr._Who.part.2_kick_f_cm_np1_ri_bad_0.avi 1 \r\nplain_kick_0.avi 2  \n\nunused_kick_0.avi 0 \n")
    labels, entries = hmdb51_split(tmp_path, 1)
    assert labels == ["kick"]
    assert entries == [("Dr._Who.part.2_kick_f_cm_np1_ri_bad_0", "kick", "training"),
                       ("plain_kick_0", "kick", "validation")]  # only the extension is cut (the original cut at '.')
    assert video_key("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi") == "v_ApplyEyeMakeup_g08_c01"
    assert read_lines(tmp_path / "kick_test_split1.txt")[0].endswith("1")
