"""Index building: JSON + frame tree -> samples, and errors that name the offending file."""
import pytest

from tests.fixtures.frame_tree import make_tree, numbered_frames, write_annotation, write_flow_video, write_rgb_video
from src.data.loader.index import DatasetIndexError, build_index, read_n_frames


def test_index_keeps_subset_order_and_labels(tmp_path):
    ann = make_tree(tmp_path, n_videos=3, n_frames=4)
    write_rgb_video(tmp_path / "jpg", "b", "valvid", numbered_frames(5))
    write_annotation(ann, ["a", "b"], [("vid00", "a", "training"), ("valvid", "b", "validation"),
                                       ("vid01", "b", "training")])
    samples, labels = build_index(tmp_path / "jpg", ann, "training", "rgb")
    assert labels == ["a", "b"]
    assert [(s.video_id, s.label, s.n_frames) for s in samples] == [("vid00", 0, 4), ("vid01", 1, 4)]
    assert samples[0].video_dir == str(tmp_path / "jpg" / "a" / "vid00")
    val, _ = build_index(tmp_path / "jpg", ann, "validation", "rgb")
    assert [s.video_id for s in val] == ["valvid"]


@pytest.mark.parametrize("text", ["4", "4\n", "4.0"])
def test_n_frames_formats(tmp_path, text):
    folder = write_rgb_video(tmp_path, "a", "v", numbered_frames(4), n_frames_text=text)
    assert read_n_frames(folder) == 4


def test_flow_tree_needs_x_and_y(tmp_path):
    import numpy as np
    frames = [np.zeros((32, 40), np.uint8)] * 3
    folder = write_flow_video(tmp_path / "flow", "a", "v", frames, frames)
    ann = write_annotation(tmp_path / "ann.json", ["a"], [("v", "a", "training")])
    assert build_index(tmp_path / "flow", ann, "training", "flow")[0][0].n_frames == 3
    (folder / "image_00003y.jpg").unlink()
    with pytest.raises(DatasetIndexError, match="image_00003y.jpg"):
        build_index(tmp_path / "flow", ann, "training", "flow")
    # An rgb index on a flow tree says which file it expected (the first one missing).
    with pytest.raises(DatasetIndexError, match=r"image_00001\.jpg: missing.*an rgb clip in the wrong tree"):
        build_index(tmp_path / "flow", ann, "training", "rgb")


def _break(tmp_path, how):
    ann = make_tree(tmp_path, n_videos=2, n_frames=4)
    video = tmp_path / "jpg" / "b" / "vid01"
    if how == "no_n_frames":
        (video / "n_frames").unlink()
        return ann, str(video / "n_frames")
    if how == "no_folder":
        for f in video.iterdir():
            f.unlink()
        video.rmdir()
        return ann, str(video)
    if how == "too_few_frames":
        (video / "n_frames").write_text("9")  # the first frame that is not there is named
        return ann, str(video / "image_00005.jpg")
    if how == "bad_n_frames":
        (video / "n_frames").write_text("many")
        return ann, str(video / "n_frames")
    if how == "unknown_label":
        write_annotation(ann, ["a"], [("vid00", "a", "training"), ("vid01", "b", "training")])
        return ann, str(ann)
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["no_n_frames", "no_folder", "too_few_frames", "bad_n_frames", "unknown_label"])
def test_index_errors_name_the_file(tmp_path, how):
    ann, culprit = _break(tmp_path, how)
    with pytest.raises(DatasetIndexError) as info:
        build_index(tmp_path / "jpg", ann, "training", "rgb")
    assert culprit in str(info.value)


def test_missing_annotation_and_bad_arguments(tmp_path):
    with pytest.raises(DatasetIndexError, match="nope.json"):
        build_index(tmp_path, tmp_path / "nope.json", "training", "rgb")
    ann = make_tree(tmp_path, n_videos=1, n_frames=2)
    with pytest.raises(ValueError, match="subset"):
        build_index(tmp_path / "jpg", ann, "dev", "rgb")  # train, val, test are aliases
    with pytest.raises(ValueError, match="mode"):
        build_index(tmp_path / "jpg", ann, "training", "depth")
    with pytest.raises(DatasetIndexError, match="no videos"):
        build_index(tmp_path / "jpg", ann, "validation", "rgb")
