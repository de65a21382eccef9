"""The inputs that used to give silently wrong results now fail, naming the file."""
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest

from tests.fixtures.frame_tree import make_tree
from tests.fixtures.tools import run_tool
from src.checkpoints.checkpoint import CheckpointError, read_checkpoint
from src.data.loader.index import DatasetIndexError, build_index
from tests.fixtures.media import moving_disc_frames, write_video
from tests.fixtures.shared import REPO


def test_videos_differing_only_in_extension_case_do_not_overwrite_each_other(tmp_path):
    write_video(tmp_path / "src" / "wave" / "a.avi", moving_disc_frames(64, 48, 5))
    write_video(tmp_path / "src" / "wave" / "a.AVI", moving_disc_frames(64, 48, 7))
    result = run_tool("generate_rgb_jpgs.py", tmp_path / "src", tmp_path / "jpg", "hmdb51", "--n_jobs", 1)
    assert result.returncode == 1
    assert f"FAILED {tmp_path / 'src' / 'wave' / 'a.avi'}: same output folder {tmp_path / 'jpg' / 'wave' / 'a'} " \
           f"as {tmp_path / 'src' / 'wave' / 'a.AVI'}" in result.stdout
    assert (tmp_path / "jpg" / "wave" / "a" / "n_frames").read_text() == "7"  # the first one's frames, whole


def test_a_missing_middle_frame_is_found_when_the_index_is_built(tmp_path):
    ann = make_tree(tmp_path, n_videos=2, n_frames=6)
    (tmp_path / "jpg" / "a" / "vid00" / "image_00003.jpg").unlink()
    with pytest.raises(DatasetIndexError, match=r"vid00/image_00003\.jpg: missing, but .*n_frames says 6 frames"):
        build_index(tmp_path / "jpg", ann, "training", "rgb")


def test_a_checkpoint_with_short_tensor_data_is_refused(tmp_path):
    net = ms.nn.Dense(300, 200)  # the weight is stored in slices; the check adds them up
    ms.save_checkpoint(net, str(tmp_path / "good.ckpt"))
    assert set(read_checkpoint_raw(tmp_path / "good.ckpt")) == {"weight", "bias"}
    from mindspore.train import checkpoint_pb2

    proto = checkpoint_pb2.Checkpoint()
    proto.ParseFromString((tmp_path / "good.ckpt").read_bytes())
    proto.value[-1].tensor.tensor_content = proto.value[-1].tensor.tensor_content[:12]
    (tmp_path / "short.ckpt").write_bytes(proto.SerializeToString())
    with pytest.raises(CheckpointError, match=r"short\.ckpt: truncated or corrupt: 1 tensors .*bias has 12 of 800 bytes"):
        read_checkpoint(tmp_path / "short.ckpt")
    result = run_tool("pt2ckpt.py", "--pretrained_path", tmp_path / "short.ckpt", "--save_path", tmp_path / "o.ckpt")
    assert result.returncode == 2 and "short.ckpt: truncated or corrupt" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "o.ckpt").exists()


def read_checkpoint_raw(path):
    from src.checkpoints.checkpoint import check_tensor_data

    check_tensor_data(path)
    return ms.load_checkpoint(str(path))


def test_a_npy_with_nan_is_refused_by_predict(tmp_path):
    net_path = tmp_path / "net.ckpt"
    from src.model.i3d import build_i3d
    ms.save_checkpoint(build_i3d("rgb", 5), str(net_path))
    clip = np.zeros((9, 32, 32, 3), np.float32)
    clip[3, 4, 5, 1] = np.nan
    np.save(tmp_path / "clip.npy", clip)
    result = subprocess.run([sys.executable, "predict.py", str(tmp_path / "clip.npy"), "--checkpoint", str(net_path),
                             "--context", "py"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and f"{tmp_path / 'clip.npy'}: holds NaN or infinite values" in result.stderr
    assert "Traceback" not in result.stderr
