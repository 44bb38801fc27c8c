"""Model files in place of the packaged models (``HandTracker(palm_model=..., landmark_model=...)``), and the
``train`` command's registration without PyTorch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import handtrace
from handtrace import cli
from handtrace.runtime import HandLandmarkModel, PalmDetectorModel, model_path


def test_packaged_files_given_as_paths_give_the_same_hands(data_dir: Path) -> None:
    image = handtrace.read_image(data_dir / "mediapipe-rs" / "victory.jpg")
    with handtrace.HandTracker(gestures=False) as default:
        expected = default.process(image)
    with handtrace.HandTracker(gestures=False, palm_model=model_path("palm_detection_full"),
                               landmark_model=model_path("hand_landmark_full")) as tracker:
        hands = tracker.process(image)
    assert len(hands) == len(expected) >= 1
    np.testing.assert_array_equal(hands[0].landmarks, expected[0].landmarks)


@pytest.mark.parametrize(("cls", "wrong"), [(PalmDetectorModel, "hand_landmark_lite"),
                                            (HandLandmarkModel, "palm_detection_lite")])
def test_a_model_of_the_other_kind_is_refused(cls, wrong: str) -> None:
    with pytest.raises(ValueError, match=r"not a (palm detection|hand landmark) model"):
        cls("lite", threads=1, path=model_path(wrong))


def test_missing_or_broken_model_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model file not found"):
        HandLandmarkModel("lite", path=tmp_path / "none.onnx")
    (tmp_path / "junk.onnx").write_text("not a model")
    with pytest.raises(ValueError, match="cannot load as an ONNX model"):
        HandLandmarkModel("lite", path=tmp_path / "junk.onnx")
    with pytest.raises(ValueError, match="backend 'onnx' at precision 'float'"):
        HandLandmarkModel("lite", path=model_path("hand_landmark_lite"), precision="int8")


def test_cli_model_options_reach_the_tracker(tmp_path: Path, capsys) -> None:
    argv = ["detect", str(tmp_path / "none.jpg"), "--landmark-model", str(tmp_path / "x.onnx"), "-q"]
    status = cli.main(argv)
    assert status == 1 and "model file not found" in capsys.readouterr().err


def test_parser_needs_no_torch() -> None:
    code = ("import sys, handtrace.cli as c; p = c.build_parser(); "
            "p.parse_args(['train', 'landmarks', 'd', '-o', 'm.onnx']); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_track_and_batch_share_the_tracker_options() -> None:
    from handtrace.tracking_options import tracking_kwargs

    parser = cli.build_parser()
    common = ["--max-hands", "1", "--model", "lite", "--landmark-model", "ft.onnx", "--no-smooth"]
    track = tracking_kwargs(parser.parse_args(["track", "v.mp4", *common]))
    batch = tracking_kwargs(parser.parse_args(["batch", "v.mp4", "-o", "out", *common]))
    assert track == batch
    assert track["landmark_model"] == os.path.abspath("ft.onnx") and "palm_model" not in track
    assert (track["max_num_hands"], track["model_complexity"], track["smooth_landmarks"]) == (1, 0, False)
    assert track["static_image_mode"] is False


def test_background_detection_is_off_for_files_on_for_cameras_unless_chosen() -> None:
    from handtrace.tracking_options import tracking_kwargs

    parser = cli.build_parser()
    default = parser.parse_args(["track", "v.mp4"])
    assert tracking_kwargs(default)["background_detection"] is False  # files: reproducible
    # camera: the tracker's default
    assert tracking_kwargs(default, live=True)["background_detection"] is None
    on = parser.parse_args(["batch", "v.mp4", "-o", "out", "--background-detection"])
    assert tracking_kwargs(on)["background_detection"] is True
    off = parser.parse_args(["track", "0", "--no-background-detection"])
    assert tracking_kwargs(off, live=True)["background_detection"] is False
